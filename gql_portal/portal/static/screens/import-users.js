// Users -> Import CSV: a file or pasted lines; Preview is a dry run (what would be created,
// updated, left unchanged and refused, each refused line with its reason), Import runs the
// job with the live progress bar of Bulk enablement, then shows the result and its errors.

import { run } from "../api.js";
import { button, field, formatCount, h, put, replace, uid } from "../dom.js";
import { banner, form, heading } from "../forms.js";
import { JOB_STATUS } from "../labels.js";
import { progressBar } from "../progress.js";
import { subscribe } from "../subscriptions.js";

const ACTIVE = ["QUEUED", "RUNNING"];
const EXAMPLE = "email,display_name,roles\nada@example.com,Ada Lovelace,USER\ngrace@example.com,Grace Hopper,USER;SECURITY_ADMIN\n";

function plural(count, word) {
  return `${formatCount(count)} ${word}${count === 1 ? "" : "s"}`;
}

// The job's four outcomes; `job.skipped` counts the rows already as the file says.
function counts(job, dryRun) {
  const would = dryRun ? "would be " : "";
  const rows = [
    ["created", job.created, `${would}created`],
    ["updated", job.updated, `${would}updated`],
    ["unchanged", job.skipped, dryRun ? "would stay unchanged" : "unchanged"],
    ["refused", job.failed, `${would}refused`],
  ];
  return h(
    "ul",
    { class: "counts", "data-testid": "import-counts" },
    rows.map(([name, value, label]) => h("li", { "data-outcome": name, "data-count": String(value) }, h("strong", { text: formatCount(value) }), label)),
  );
}

function errorTable(job) {
  if (!job.errors.length) return h("p", { text: "No line is refused." });
  const captionId = uid("caption");
  return [
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table", "aria-labelledby": captionId },
        h("caption", { id: captionId, class: "visually-hidden", text: "Refused lines" }),
        h("thead", null, h("tr", null, ["Line", "Email", "Why it is refused"].map((label) => h("th", { scope: "col", text: label })))),
        h(
          "tbody",
          { "data-testid": "import-errors" },
          job.errors.map((error) => h("tr", null, h("td", { text: String(error.line) }), h("td", { class: "cell--email", text: error.email || "" }), h("td", { text: error.reason }))),
        ),
      ),
    ),
    job.failed > job.errors.length ? h("p", { class: "hint", text: `Showing the first ${formatCount(job.errors.length)} of ${plural(job.failed, "refused line")}.` }) : null,
  ];
}

export async function render(main, app) {
  const fileInput = h("input", { type: "file", name: "file", accept: ".csv,text/csv", class: "file" });
  const paste = h("textarea", { name: "csv", class: "textarea", rows: "8", spellcheck: "false" });
  const twoFactorId = uid("two-factor");
  const twoFactor = h("input", { type: "checkbox", id: twoFactorId, class: "checkbox__input" });
  const fields = {
    file: field({ label: "CSV file", hint: "A .csv file saved as UTF-8.", input: fileInput }),
    csv: field({ label: "Or paste the lines", hint: "Used when no file is chosen.", input: paste }),
  };
  const result = h("section", { class: "section", "aria-labelledby": "result-heading", hidden: true });
  let unsubscribe = () => {};

  const readCsv = async () => {
    const file = fileInput.files && fileInput.files[0];
    return file ? file.text() : paste.value;
  };

  // Resolves with the job once it has finished, drawing each step (the bar, if any).
  const untilFinished = (job, draw) =>
    new Promise((resolve, reject) => {
      draw(job);
      if (!ACTIVE.includes(job.status)) {
        resolve(job);
        return;
      }
      subscribe(
        "import-progress",
        { id: job.id },
        {
          next: (data) => {
            if (!data.bulkJob) return;
            draw(data.bulkJob);
            if (!ACTIVE.includes(data.bulkJob.status)) resolve(data.bulkJob);
          },
          error: reject,
          complete: () => resolve(job),
        },
      ).then((stop) => {
        unsubscribe = stop;
      }, reject);
    });

  const finished = async (job) => (await run("import-result", { id: job.id })).bulkJob;

  // Draws a job until it finishes, then its counts and refused lines. ``note`` says where
  // the job comes from when this screen did not start it (one still running).
  const show = async (job, { showApiError }, note = null, twoFactorAsked = false) => {
    const dryRun = job.dryRun;
    result.hidden = false;
    const title = h("h2", { id: "result-heading", text: dryRun ? "Preview" : "Import" });
    const status = h("p", { "data-testid": "import-status" });
    const bar = dryRun ? null : progressBar("Import progress");
    const cancel = dryRun ? null : button("Cancel", { class: "button button--danger" });
    if (cancel) {
      cancel.addEventListener("click", async () => {
        cancel.disabled = true;
        try {
          await run("bulk-cancel", { id: job.id });
          app.announce("Cancelling the import.");
        } catch (error) {
          showApiError(error);
          cancel.disabled = false;
        }
      });
    }
    replace(result, title, note ? h("p", { "data-testid": "import-note", text: note }) : null, bar ? bar.element : null, status, cancel ? h("div", { class: "actions" }, cancel) : null);
    const draw = (current) => {
      if (bar) bar.set(current.progress, `${formatCount(current.processed)} of ${formatCount(current.total)} lines`);
      status.textContent = dryRun ? "Checking every line…" : `${JOB_STATUS[current.status]}: ${formatCount(current.processed)} of ${plural(current.total, "line")} done.`;
      if (cancel) cancel.hidden = !ACTIVE.includes(current.status);
    };
    try {
      const done = await finished(await untilFinished(job, draw));
      draw(done);
      const lines = plural(done.total, "line");
      status.textContent = dryRun
        ? `The file has ${lines}. Nothing is changed yet: if this is what you expect, choose Import.`
        : `${JOB_STATUS[done.status]}: ${formatCount(done.processed)} of ${lines} done.${done.error ? ` ${done.error}` : ""}`;
      const imported = done.created + done.updated + done.skipped;
      const enabled = !dryRun && twoFactorAsked && imported > 0
        ? h("p", { "data-testid": "import-two-factor", text: "Two-factor authentication is enabled for every active imported user: each sets it up at their next sign-in." })
        : null;
      put(result, counts(done, dryRun), enabled, errorTable(done));
      app.announce(
        dryRun
          ? `Preview ready: ${formatCount(done.created)} to create, ${formatCount(done.updated)} to update, ${formatCount(done.failed)} refused.`
          : `Import ${JOB_STATUS[done.status].toLowerCase()}: ${formatCount(done.created)} created, ${formatCount(done.updated)} updated, ${formatCount(done.failed)} refused.`,
      );
    } catch (error) {
      result.append(banner(app.describeError(error), "error"));
    }
  };

  const start = async (dryRun, helpers) => {
    const csv = await readCsv();
    if (!csv.trim()) {
      helpers.showErrors([["csv", "Choose a CSV file or paste its lines"]]);
      return;
    }
    unsubscribe();
    let job;
    try {
      job = (await run("import-users", { csv, dryRun, enableTwoFactor: twoFactor.checked }, { path: "/graphql/import" })).importUsers;
    } catch (error) {
      helpers.showApiError(error);
      return;
    }
    await show(job, helpers, null, twoFactor.checked);
  };

  const importButton = button("Import", { class: "button" });
  const importForm = form({
    fields,
    submit: "Preview",
    submitAttributes: { class: "button button--secondary" },
    extra: [h("div", { class: "checkbox" }, twoFactor, h("label", { for: twoFactorId, class: "checkbox__label", text: "Enable two-factor authentication for every imported user (when Enable 2FA is on)" }))],
    onSubmit: (helpers) => start(true, helpers),
  });
  importForm.submitButton.after(importButton);
  importButton.addEventListener("click", async () => {
    importForm.clearErrors();
    importButton.disabled = true;
    try {
      await start(false, importForm);
    } finally {
      importButton.disabled = false;
    }
  });

  const lead = h("p", { class: "lead", text: "Add or update many users at once from a spreadsheet saved as CSV." });
  put(main, 
    ...heading("Import CSV", "Users"),
    lead,
    h(
      "section",
      { "aria-labelledby": "format-heading" },
      h("h2", { id: "format-heading", text: "The file's format" }),
      h(
        "ul",
        null,
        h("li", { text: "The first line is the header: email,display_name,roles" }),
        h("li", { text: "One user a line. Roles are separated by ; and are USER, SECURITY_ADMIN, SYSTEM_ADMIN or AUDITOR." }),
        h("li", { text: "A user whose email already exists is updated; the others are created and get an invitation mail to choose their password." }),
        h("li", { text: "At most 100,000 lines. A line with a mistake is refused with its line number; the other lines are still imported." }),
      ),
      h("p", { text: "For example:" }),
      h("pre", { class: "example", text: EXAMPLE }),
    ),
    h("p", { text: "Choose Preview first: it checks every line and changes nothing." }),
    importForm.element,
    result,
  );
  // An import keeps running when its screen is left (it is a job of the worker): coming
  // back shows it again, with its progress and Cancel.
  const recent = (await run("bulk-jobs")).bulkJobs.edges.map((edge) => edge.node);
  const running = recent.find((job) => job.kind === "IMPORT_USERS" && !job.dryRun && ACTIVE.includes(job.status));
  if (running) {
    const by = running.requestedByEmail ? ` by ${running.requestedByEmail}` : "";
    lead.after(result); // first on the page: a second import would wait for this one
    show(running, importForm, `An import started${by} is still running; it goes on when you leave this page.`);
  }
  return () => unsubscribe();
}
