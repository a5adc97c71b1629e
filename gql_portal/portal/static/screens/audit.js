// Audit log: filters, pages, Export CSV / Export NDJSON (links that carry the cookie), and
// two charts: 2FA adoption per day and events per day.

import { run } from "../api.js";
import { button, field, formatTime, h, input, put, select } from "../dom.js";
import { actionLabel, AUDIT_ACTIONS } from "../labels.js";
import { adoptionChart, eventsChart } from "../charts.js";
import { banner, form, heading } from "../forms.js";

const PAGE = 50;
const DAYS = 30;

function exportHref(format, filter) {
  const params = new URLSearchParams({ format });
  for (const [name, value] of Object.entries(filter)) {
    if (value === null || value === undefined) continue;
    params.set(name, Array.isArray(value) ? value.join(",") : value);
  }
  return `/audit/export?${params}`;
}

function chartSince() {
  const start = new Date();
  start.setUTCHours(0, 0, 0, 0);
  start.setUTCDate(start.getUTCDate() - (DAYS - 1));
  return start.toISOString();
}

export async function render(main, app) {
  const fields = {
    actions: field({ label: "Action", input: select([["", "Any action"], ...AUDIT_ACTIONS.map((action) => [action, actionLabel(action)])], { name: "action", class: "select" }) }),
    outcome: field({ label: "Outcome", input: select([["", "Any outcome"], ["SUCCESS", "Success"], ["FAILURE", "Failure"]], { name: "outcome", class: "select" }) }),
    since: field({ label: "From (UTC)", hint: "The first day to show.", input: input({ type: "date", name: "since", class: "input input--date" }) }),
    until: field({ label: "To (UTC)", hint: "The last day to show.", input: input({ type: "date", name: "until", class: "input input--date" }) }),
    ip: field({ label: "IP address", input: input({ name: "ip", class: "input", spellcheck: "false" }) }),
  };
  let filter = {};
  const cursors = [null];
  let pageIndex = 0;
  const body = h("tbody");
  const pageNote = h("p", { class: "hint", "aria-live": "polite" });
  const previous = button("Previous page", { class: "button button--secondary" });
  const next = button("Next page", { class: "button button--secondary" });
  const csv = h("a", { class: "button button--secondary", text: "Export CSV", download: "" });
  const ndjson = h("a", { class: "button button--secondary", text: "Export NDJSON", download: "" });
  const message = h("div", { "aria-live": "polite" });

  const load = async () => {
    const data = await run("audit-events", { first: PAGE, after: cursors[pageIndex], filter });
    const edges = data.auditEvents.edges;
    body.replaceChildren(
      ...edges.map(({ node }) =>
        h(
          "tr",
          null,
          h("td", { text: formatTime(node.occurredAt) }),
          h("td", { text: actionLabel(node.action) }),
          h("td", { class: node.outcome === "FAILURE" ? "outcome outcome--failure" : "outcome", text: node.outcome === "FAILURE" ? "Failure" : "Success" }),
          h("td", { text: node.actorEmail || "-" }),
          h("td", { text: node.targetEmail || "-" }),
          h("td", { text: node.ip || "-" }),
        ),
      ),
    );
    if (!edges.length) body.append(h("tr", null, h("td", { colspan: "6", text: "No events match." })));
    cursors[pageIndex + 1] = data.auditEvents.pageInfo.endCursor;
    next.disabled = !data.auditEvents.pageInfo.hasNextPage;
    previous.disabled = pageIndex === 0;
    pageNote.textContent = `Page ${pageIndex + 1}, ${edges.length} event${edges.length === 1 ? "" : "s"}, newest first.`;
    csv.href = exportHref("csv", filter);
    ndjson.href = exportHref("ndjson", filter);
  };
  const turn = async (step) => {
    pageIndex += step;
    try {
      await load();
    } catch (error) {
      pageIndex -= step;
      message.replaceChildren(banner(app.describeError(error), "error"));
    }
  };
  previous.addEventListener("click", () => turn(-1));
  next.addEventListener("click", () => turn(1));

  const filterForm = form({
    fields,
    submit: "Apply filters",
    async onSubmit({ showErrors, showApiError }) {
      const since = fields.since.input.value;
      const until = fields.until.input.value;
      if (since && until && since > until) {
        showErrors([["until", "The last day must be the same as or after the first day"]]);
        return;
      }
      const action = fields.actions.input.value;
      const ip = fields.ip.input.value.trim();
      filter = {
        actions: action ? [action] : null,
        outcome: fields.outcome.input.value || null,
        since: since ? `${since}T00:00:00Z` : null,
        until: until ? `${until}T23:59:59.999Z` : null,
        ip: ip || null,
      };
      cursors.length = 1;
      pageIndex = 0;
      try {
        await load();
      } catch (error) {
        showApiError(error);
      }
    },
  });
  filterForm.element.classList.add("form--inline");
  filterForm.element.setAttribute("role", "search");
  filterForm.element.setAttribute("aria-label", "Filter the audit log");

  const [charts] = await Promise.all([run("audit-charts", { days: DAYS, filter: { since: chartSince() } }), load()]);
  const days = charts.twoFactorAdoption.map((point) => point.day);
  put(main, 
    ...heading("Audit log"),
    h("p", null, "Mail sent to users about these changes: ", h("a", { href: "#/notifications", text: "Notifications" }), "."),
    h("div", { class: "charts" }, adoptionChart(charts.twoFactorAdoption), eventsChart(charts.auditSummary, days)),
    h("h2", { text: "Events" }),
    filterForm.element,
    message,
    h("div", { class: "actions" }, csv, ndjson),
    pageNote,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table" },
        h("caption", { class: "visually-hidden", text: "Audit events, newest first" }),
        h("thead", null, h("tr", null, ["Time", "Action", "Outcome", "Actor", "Target", "IP address"].map((text) => h("th", { scope: "col", text })))),
        body,
      ),
    ),
    h("nav", { class: "actions", "aria-label": "Audit log pages" }, previous, next),
  );
}
