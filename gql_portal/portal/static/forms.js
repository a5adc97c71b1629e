// What every form of the portal shares: errors next to their field and summarised at the
// top (GOV.UK pattern), a busy state while a request runs, and the code field.

import { errorSummary, field, h, input, uid } from "./dom.js";
import { describeError } from "./errors.js";

export function codeField(label = "Code", hint = "The 6-digit code from your authenticator app.") {
  return field({
    label,
    hint,
    input: input({
      name: "code",
      inputmode: "numeric",
      autocomplete: "one-time-code",
      pattern: "[0-9]*",
      maxlength: "6",
      spellcheck: "false",
      class: "input input--code",
    }),
  });
}

// Six ASCII digits; spaces people type from the app ("123 456") are dropped.
export function cleanCode(value) {
  return value.replace(/\s+/g, "");
}

export function checkCode(fieldEntry) {
  const value = cleanCode(fieldEntry.input.value);
  if (!value) return "Enter the code from your authenticator app";
  if (!/^[0-9]{6}$/.test(value)) return "The code must be 6 digits";
  return null;
}

// A form: fields by GraphQL argument name, so BAD_USER_INPUT's extensions.field finds them.
export function form({ fields, submit, onSubmit, extra = [], submitAttributes = {} }) {
  const summary = errorSummary();
  const submitButton = h("button", { type: "submit", class: "button", ...submitAttributes }, submit);
  const element = h(
    "form",
    { class: "form", novalidate: true },
    summary.element,
    Object.values(fields).map((entry) => entry.wrapper),
    extra,
    h("div", { class: "actions" }, submitButton),
  );
  const clearErrors = () => {
    summary.hide();
    for (const entry of Object.values(fields)) entry.setError(null);
  };
  const showErrors = (errors) => {
    for (const entry of Object.values(fields)) entry.setError(null);
    const items = [];
    for (const [name, message] of errors) {
      const entry = fields[name];
      if (entry) entry.setError(message);
      items.push({ message, target: entry ? entry.input : null });
    }
    summary.show(items);
  };
  const showApiError = (error) => {
    // "email" or "input.email": the argument's own name finds the field.
    const argument = error && error.field ? error.field.split(".").pop() : null;
    const name = argument && fields[argument] ? argument : null;
    const fallback = name ? null : Object.keys(fields)[0];
    const target = error && ["INVALID_CODE", "BAD_USER_INPUT", "INVALID_CREDENTIALS"].includes(error.code) ? name || fallback : name;
    showErrors([[target, describeError(error)]]);
  };
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submitButton.disabled) return;
    clearErrors();
    submitButton.disabled = true;
    element.setAttribute("aria-busy", "true");
    try {
      await onSubmit({ showErrors, showApiError });
    } finally {
      element.removeAttribute("aria-busy");
      if (element.isConnected && !element.dataset.locked) submitButton.disabled = false;
    }
  });
  return { element, submitButton, showErrors, showApiError, clearErrors, summary };
}

export function heading(text, caption) {
  return [
    caption ? h("span", { class: "caption", text: caption }) : null,
    h("h1", { class: "heading", text }),
  ];
}

export function banner(text, kind = "info") {
  return h("div", { class: `banner banner--${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

// A countdown shown while the code step is locked (TOO_MANY_ATTEMPTS' retryAfter).
export function lockCountdown(seconds, { onTick, onEnd }) {
  let left = seconds;
  onTick(left);
  const timer = setInterval(() => {
    left -= 1;
    if (left <= 0) {
      clearInterval(timer);
      onEnd();
    } else {
      onTick(left);
    }
  }, 1000);
  return () => clearInterval(timer);
}

// Checkboxes in a fieldset that a form treats as one field (the roles of a user, a bulk
// job's filter): `input` is the first box, so the error summary's link lands on the group.
export function checkboxGroup({ legend, hint, options, checked = [], disabled = false }) {
  const hintId = uid("hint");
  const errorId = uid("error");
  const boxes = options.map(([value, label]) => {
    const id = uid("option");
    const box = h("input", { type: "checkbox", id, value, class: "checkbox__input", checked: checked.includes(value), disabled });
    return { box, item: h("div", { class: "checkbox" }, box, h("label", { for: id, class: "checkbox__label", text: label })) };
  });
  const error = h("p", { class: "field-error", id: errorId, hidden: true });
  const wrapper = h(
    "fieldset",
    { class: "fieldset", "aria-describedby": hint ? hintId : null },
    h("legend", { class: "fieldset__legend", text: legend }),
    hint ? h("p", { class: "hint", id: hintId, text: hint }) : null,
    error,
    boxes.map((entry) => entry.item),
  );
  return {
    wrapper,
    element: wrapper,
    input: boxes[0].box,
    label: legend,
    values() {
      return boxes.filter((entry) => entry.box.checked).map((entry) => entry.box.value);
    },
    setError(message) {
      error.hidden = !message;
      error.textContent = message ? `Error: ${message}` : "";
      wrapper.classList.toggle("field--error", Boolean(message));
      const ids = [hint ? hintId : null, message ? errorId : null].filter(Boolean);
      if (ids.length) wrapper.setAttribute("aria-describedby", ids.join(" "));
      else wrapper.removeAttribute("aria-describedby");
    },
  };
}
