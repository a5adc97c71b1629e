// Bulk enablement: filter, Preview (a dry run: how many, and whether it includes you),
// Start, a live progress bar from the bulkJob subscription, Cancel.

import { run } from "../api.js";
import { button, formatTime, h, put, replace } from "../dom.js";
import { banner, checkboxGroup, heading } from "../forms.js";
import { JOB_STATUS, ROLE, TWO_FACTOR_STATE } from "../labels.js";
import { progressBar } from "../progress.js";
import { subscribe } from "../subscriptions.js";

const ACTIVE = ["QUEUED", "RUNNING"];
const STATES = ["DISABLED", "PENDING_ENROLLMENT", "ENROLLED"];

function checkboxes(legend, hint, options) {
  const group = checkboxGroup({ legend, hint, options });
  // null, not [], when nothing is ticked: the filter then leaves that criterion out.
  return { element: group.element, values: () => (group.values().length ? group.values() : null) };
}

function jobSummary(job) {
  const parts = [`${job.processed} of ${job.total} users processed`, `${job.changed} enabled`, `${job.skipped} already enabled`];
  if (job.failed) parts.push(`${job.failed} failed`);
  return parts.join(", ");
}

export async function render(main, app) {
  const roles = checkboxes("Roles", "Leave all unticked to include every role.", Object.entries(ROLE));
  const states = checkboxes(
    "Two-factor authentication now",
    "Leave all unticked to include every state.",
    STATES.map((state) => [state, TWO_FACTOR_STATE[state]]),
  );
  const selection = () => {
    const filter = { roles: roles.values(), twoFactorStates: states.values() };
    return filter.roles || filter.twoFactorStates ? filter : null;
  };
  const previewArea = h("div", { class: "preview", "aria-live": "polite" });
  const jobArea = h("section", { class: "section", "aria-labelledby": "job-heading", hidden: true });
  const message = h("div", { "aria-live": "assertive" });
  const preview = button("Preview", { class: "button button--secondary" });
  const startButton = button("Start", { class: "button" });
  let unsubscribe = () => {};

  const showError = (error) => message.replaceChildren(banner(app.describeError(error), "error"));

  preview.addEventListener("click", async () => {
    message.replaceChildren();
    preview.disabled = true;
    try {
      const job = (await run("bulk-preview", { filter: selection() })).startBulkTwoFactorEnablement;
      replace(previewArea, 
        h("h2", { text: "Preview" }),
        h("p", { "data-testid": "preview-total", text: `${job.total} user${job.total === 1 ? "" : "s"} selected. Users who already have 2FA enabled are skipped.` }),
        job.includesViewer
          ? banner("The selection includes you: after the job, you set up two-factor authentication at your next request.", "warning")
          : h("p", { text: "The selection does not include you." }),
        job.sample && job.sample.length
          ? [h("p", { text: "For example:" }), h("ul", null, job.sample.map((user) => h("li", { text: user.displayName ? `${user.displayName} (${user.email})` : user.email })))]
          : null,
      );
    } catch (error) {
      showError(error);
    } finally {
      preview.disabled = false;
    }
  });

  const follow = async (job) => {
    unsubscribe();
    const bar = progressBar("Bulk job progress");
    const status = h("p", { "data-testid": "bulk-status" });
    const cancel = button("Cancel", { class: "button button--danger" });
    const draw = (current) => {
      bar.set(current.progress, `${current.processed} of ${current.total}`);
      status.textContent = `${JOB_STATUS[current.status]}: ${jobSummary(current)}.${current.error ? ` ${current.error}` : ""}`;
      const active = ACTIVE.includes(current.status);
      cancel.hidden = !active;
      cancel.disabled = current.cancelRequested;
      startButton.disabled = active;
      if (!active) {
        unsubscribe();
        app.announce(`Bulk job ${JOB_STATUS[current.status].toLowerCase()}: ${jobSummary(current)}.`);
      }
    };
    cancel.addEventListener("click", async () => {
      cancel.disabled = true;
      try {
        draw((await run("bulk-cancel", { id: job.id })).cancelBulkJob);
        app.announce("Cancelling the job.");
      } catch (error) {
        showError(error);
        cancel.disabled = false;
      }
    });
    jobArea.hidden = false;
    replace(jobArea, 
      h("h2", { id: "job-heading", text: "Progress" }),
      h("p", { class: "hint", text: `Started ${formatTime(job.createdAt)}.` }),
      bar.element,
      status,
      h("div", { class: "actions" }, cancel),
    );
    draw(job);
    if (!ACTIVE.includes(job.status)) return;
    unsubscribe = await subscribe(
      "bulk-progress",
      { id: job.id },
      {
        next: (data) => data.bulkJob && draw(data.bulkJob),
        error: (error) => showError(error),
        complete: () => {},
      },
    );
  };

  startButton.addEventListener("click", async () => {
    message.replaceChildren();
    startButton.disabled = true;
    try {
      const job = (await run("bulk-start", { filter: selection() })).startBulkTwoFactorEnablement;
      app.announce("Bulk job started.");
      await follow(job);
    } catch (error) {
      showError(error);
      startButton.disabled = false;
    }
  });

  // A running import (Users -> Import CSV shows it) is not an enablement to follow here.
  const recent = (await run("bulk-jobs")).bulkJobs.edges.map((edge) => edge.node).filter((job) => !job.dryRun && job.kind === "ENABLE_TWO_FACTOR");
  put(main, 
    ...heading("Bulk enablement"),
    h("p", { class: "lead", text: "Turn on two-factor authentication for many users at once. Each of them sets it up at their next sign-in." }),
    message,
    h("div", { class: "form" }, roles.element, states.element, h("div", { class: "actions" }, preview, startButton)),
    previewArea,
    jobArea,
  );
  const active = recent.find((job) => ACTIVE.includes(job.status));
  if (active) await follow(active);
  return () => unsubscribe();
}
