// Notifications: the mail the portal sent or will send to users (CONTRACT section 11), with
// its delivery state; never a message's text. Filters, then Load more (newest first).

import { run } from "../api.js";
import { button, field, formatTime, h, put, select } from "../dom.js";
import { NOTIFICATION_KIND, NOTIFICATION_STATUS } from "../labels.js";
import { banner, form, heading } from "../forms.js";

const PAGE = 50;
const COLUMNS = ["When", "Message", "Recipient", "Status", "Attempts", "Last error"];

function row(node) {
  const failed = node.status === "FAILED";
  return h(
    "tr",
    null,
    h("td", { text: formatTime(node.createdAt) }),
    h("td", { text: NOTIFICATION_KIND[node.kind] || node.kind }),
    h("td", { text: node.recipient }),
    h("td", { class: failed ? "outcome outcome--failure" : "outcome", text: NOTIFICATION_STATUS[node.status] || node.status }),
    h("td", { text: String(node.attempts) }),
    h("td", { text: node.lastError || "-" }),
  );
}

export async function render(main, app) {
  const fields = {
    kind: field({ label: "Message", input: select([["", "Any message"], ...Object.entries(NOTIFICATION_KIND)], { name: "kind", class: "select" }) }),
    status: field({ label: "Status", input: select([["", "Any status"], ...Object.entries(NOTIFICATION_STATUS)], { name: "status", class: "select" }) }),
  };
  let filter = {};
  let after = null;
  const body = h("tbody");
  const count = h("p", { class: "hint", "aria-live": "polite" });
  const more = button("Load more", { class: "button button--secondary" });
  const message = h("div", { "aria-live": "polite" });
  let shown = 0;

  const load = async (append) => {
    const data = (await run("notifications", { first: PAGE, after: append ? after : null, filter })).notifications;
    if (!append) {
      body.replaceChildren();
      shown = 0;
    }
    body.append(...data.edges.map(({ node }) => row(node)));
    shown += data.edges.length;
    if (!shown) body.append(h("tr", null, h("td", { colspan: String(COLUMNS.length), text: "No messages match." })));
    after = data.pageInfo.endCursor;
    more.hidden = !data.pageInfo.hasNextPage;
    count.textContent = `${shown} message${shown === 1 ? "" : "s"} shown, newest first.`;
  };
  more.addEventListener("click", async () => {
    message.replaceChildren();
    more.disabled = true;
    try {
      await load(true);
    } catch (error) {
      message.replaceChildren(banner(app.describeError(error), "error"));
    } finally {
      more.disabled = false;
    }
  });

  const filterForm = form({
    fields,
    submit: "Apply filters",
    async onSubmit({ showApiError }) {
      filter = { kind: fields.kind.input.value || null, status: fields.status.input.value || null };
      try {
        await load(false);
      } catch (error) {
        showApiError(error);
      }
    },
  });
  filterForm.element.classList.add("form--inline");
  filterForm.element.setAttribute("role", "search");
  filterForm.element.setAttribute("aria-label", "Filter the notifications");

  await load(false);
  put(main,
    ...heading("Notifications", "Audit log"),
    h("p", { text: "Mail to users about their second factor and account, and to administrators about their jobs: when it was written, and whether it was delivered. The messages' text is not kept here." }),
    filterForm.element,
    message,
    count,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table" },
        h("caption", { class: "visually-hidden", text: "Notifications, newest first" }),
        h("thead", null, h("tr", null, COLUMNS.map((text) => h("th", { scope: "col", text })))),
        body,
      ),
    ),
    h("div", { class: "actions" }, more),
  );
}
