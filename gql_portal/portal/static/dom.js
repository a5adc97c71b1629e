// Small DOM helpers: every element is built with DOM APIs (no innerHTML), so the portal runs
// under a CSP without 'unsafe-inline' and no server text is ever parsed as markup.

const SVG_NS = "http://www.w3.org/2000/svg";

function apply(element, attributes) {
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "on") {
      for (const [event, handler] of Object.entries(value)) element.addEventListener(event, handler);
    } else if (name === "text") {
      element.textContent = value;
    } else if (name === "class") {
      element.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    } else if (name === "value" || name === "checked" || name === "disabled") {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  apply(element, attributes);
  return append(element, children);
}

export function svg(tag, attributes, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  apply(element, attributes);
  return append(element, children);
}

let counter = 0;
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

export function clear(element) {
  element.replaceChildren();
  return element;
}

// Appends children, skipping null/false and flattening arrays (Node.append would print "null").
export function put(element, ...children) {
  return append(element, children);
}

export function replace(element, ...children) {
  return append(clear(element), children);
}

// A GOV.UK style form field: label, optional hint, the error message next to the control.
export function field({ label, hint, id, input }) {
  const controlId = id || uid("field");
  const hintId = `${controlId}-hint`;
  const errorId = `${controlId}-error`;
  input.id = controlId;
  const error = h("p", { class: "field-error", id: errorId, hidden: true });
  const wrapper = h(
    "div",
    { class: "field" },
    h("label", { for: controlId, text: label }),
    hint ? h("p", { class: "hint", id: hintId, text: hint }) : null,
    error,
    input,
  );
  const described = () => [hint ? hintId : null, error.hidden ? null : errorId].filter(Boolean);
  const describe = () => {
    const ids = described();
    if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
    else input.removeAttribute("aria-describedby");
  };
  describe();
  return {
    wrapper,
    input,
    label,
    setError(message) {
      error.hidden = !message;
      error.textContent = message ? `Error: ${message}` : "";
      wrapper.classList.toggle("field--error", Boolean(message));
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      describe();
    },
  };
}

export function input(attributes) {
  return h("input", { type: "text", ...attributes });
}

export function select(options, attributes) {
  return h(
    "select",
    attributes,
    options.map(([value, label]) => h("option", { value, text: label })),
  );
}

export function button(text, attributes) {
  return h("button", { type: "button", class: "button", ...attributes }, text);
}

// Errors summarised at the top of the form, each linking to its field (GOV.UK error summary).
export function errorSummary() {
  const titleId = uid("error-summary");
  const list = h("ul", { class: "error-summary__list" });
  const box = h(
    "div",
    { class: "error-summary", tabindex: "-1", hidden: true, role: "alert", "aria-labelledby": titleId },
    h("h2", { class: "error-summary__title", id: titleId, text: "There is a problem" }),
    list,
  );
  return {
    element: box,
    show(items) {
      clear(list);
      for (const { message, target } of items) {
        const entry = target
          ? h("a", {
              href: `#${target.id}`,
              text: message,
              on: {
                click: (event) => {
                  event.preventDefault();
                  target.focus();
                },
              },
            })
          : message;
        list.append(h("li", null, entry));
      }
      box.hidden = items.length === 0;
      if (items.length) box.focus();
    },
    hide() {
      box.hidden = true;
      clear(list);
    },
  };
}

export function formatTime(value) {
  if (!value) return "";
  const date = new Date(value);
  return date.toLocaleString(undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });
}

export function formatDuration(seconds) {
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  if (minutes === 0) return `${rest} second${rest === 1 ? "" : "s"}`;
  return `${minutes}:${String(rest).padStart(2, "0")} minutes`;
}

export function downloadText(filename, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  const link = h("a", { href: url, download: filename, class: "visually-hidden" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// The pages of one screen (Client Settings, My account): links, the current one marked.
export function subNav(label, entries, current) {
  return h(
    "nav",
    { class: "subnav", "aria-label": label },
    h(
      "ul",
      { class: "subnav__list" },
      entries.map(([path, text]) =>
        h("li", null, h("a", { class: "subnav__link", href: `#/${path}`, text, "aria-current": path === current ? "page" : null })),
      ),
    ),
  );
}

// "1,234": the same digits grouping whatever the browser's language.
export function formatCount(value) {
  return Number(value).toLocaleString("en");
}
