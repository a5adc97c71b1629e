// Client Settings -> Password Security Rules. The switch follows CONTRACT section 2: a
// Security Administrator turns it on and off, a System Administrator only off, others read.

import { run } from "../api.js";
import { field, formatTime, h, input, put, subNav, uid } from "../dom.js";
import { banner, form, heading } from "../forms.js";

const NUMBERS = [
  ["enrollmentGracePeriodHours", "Grace period for setting up two-factor authentication (hours)", "0 means users must set it up at their next sign-in."],
  ["minPasswordLength", "Minimum password length", "In characters."],
  ["auditRetentionDays", "Keep audit events for (days)", "Older events are deleted. 0 keeps them forever."],
];

// The pages of Client Settings; Provisioning is a System Administrator's only.
export const SETTINGS_PAGES = [
  ["settings", "Password Security Rules"],
  ["settings/provisioning", "Provisioning"],
];

function changedBy(rules) {
  if (!rules.updatedAt) return "These rules have not been changed yet.";
  const who = rules.updatedBy ? rules.updatedBy.email : "an administrator";
  return `Last changed by ${who} on ${formatTime(rules.updatedAt)}.`;
}

export async function render(main, app) {
  const rules = (await run("rules")).domain.passwordSecurityRules;
  const security = app.hasRole("SECURITY_ADMIN");
  const system = app.hasRole("SYSTEM_ADMIN");
  const mayToggle = security || (system && rules.twoFactorEnabled);
  const editable = security || mayToggle;

  const switchId = uid("switch");
  const switchHint = `${switchId}-hint`;
  const toggle = h("input", {
    type: "checkbox",
    role: "switch",
    id: switchId,
    class: "switch__input",
    checked: rules.twoFactorEnabled,
    disabled: !mayToggle,
    "aria-describedby": switchHint,
  });
  const toggleHint = security
    ? "Users still need 2FA enabled one by one on the Users screen, or with Bulk enablement."
    : system
      ? "As a System Administrator you can turn this off, not on."
      : "Only a Security Administrator can change this.";
  const fields = {};
  for (const [name, label, hint] of NUMBERS) {
    fields[name] = field({
      label,
      hint,
      input: input({
        name,
        type: "text",
        inputmode: "numeric",
        class: "input input--number",
        value: String(rules[name]),
        readonly: !security,
        "aria-readonly": security ? null : "true",
      }),
    });
  }
  // Reminders and job summaries may be turned off; the security messages never can.
  const mailId = uid("optional-mail");
  const mailBox = h("input", {
    type: "checkbox",
    id: mailId,
    class: "checkbox__input",
    checked: rules.optionalNotificationsEnabled,
    disabled: !security,
    "aria-describedby": `${mailId}-hint`,
  });
  const mailBlock = h(
    "div",
    { class: "field" },
    h("div", { class: "checkbox" }, mailBox, h("label", { for: mailId, class: "checkbox__label", text: "Send reminders and job summaries" })),
    h("p", {
      class: "hint",
      id: `${mailId}-hint`,
      text: "Mail before an enrollment deadline, and to the administrator when a bulk job or import ends. Security messages (a change to a user's second factor, password or account) are always sent and cannot be turned off.",
    }),
  );
  const status = h("div", { class: "form-status", "aria-live": "polite" });
  const who = h("p", { class: "hint", "data-testid": "rules-changed-by", text: changedBy(rules) });

  const switchBlock = h(
    "div",
    { class: "switch" },
    h("label", { for: switchId, class: "switch__label" }, toggle, h("span", { class: "switch__track", "aria-hidden": "true" }), h("span", { class: "switch__text", text: "Enable 2FA" }), h("span", { class: "switch__state", "aria-hidden": "true" })),
    h("p", { class: "hint", id: switchHint, text: toggleHint }),
  );

  const settingsForm = form({
    fields,
    submit: "Update",
    extra: [mailBlock],
    async onSubmit({ showErrors, showApiError }) {
      status.replaceChildren();
      const inputValues = {};
      const problems = [];
      if (security) {
        for (const [name, label] of NUMBERS) {
          const raw = fields[name].input.value.trim();
          if (!/^[0-9]+$/.test(raw)) problems.push([name, `${label.replace(/ \(.*\)$/, "")} must be a whole number, 0 or more`]);
          else if (Number(raw) !== rules[name]) inputValues[name] = Number(raw);
        }
        if (mailBox.checked !== rules.optionalNotificationsEnabled) inputValues.optionalNotificationsEnabled = mailBox.checked;
      }
      if (problems.length) {
        showErrors(problems);
        return;
      }
      try {
        if (toggle.checked !== rules.twoFactorEnabled) {
          Object.assign(rules, (await run("set-domain-two-factor", { enabled: toggle.checked })).setDomainTwoFactor);
        }
        if (Object.keys(inputValues).length) {
          Object.assign(rules, (await run("update-rules", { input: inputValues })).updatePasswordSecurityRules);
        }
      } catch (error) {
        toggle.checked = rules.twoFactorEnabled;
        mailBox.checked = rules.optionalNotificationsEnabled;
        showApiError(error);
        return;
      }
      const fresh = (await run("rules")).domain.passwordSecurityRules;
      Object.assign(rules, fresh);
      who.textContent = changedBy(rules);
      if (system && !security && !rules.twoFactorEnabled) {
        toggle.disabled = true;
        settingsForm.submitButton.hidden = true;
      }
      status.replaceChildren(banner("Settings saved successfully", "success"));
    },
  });
  settingsForm.element.prepend(settingsForm.summary.element, switchBlock);
  if (!editable) settingsForm.submitButton.hidden = true;
  put(main, 
    ...heading("Password Security Rules", "Client Settings"),
    system ? subNav("Client Settings", SETTINGS_PAGES, "settings") : null,
    status,
    settingsForm.element,
    who,
  );
}
