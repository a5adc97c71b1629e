// A progress bar without style attributes (the CSP forbids them): an SVG rect whose width
// is an attribute, inside an element with role progressbar.

import { h, svg } from "./dom.js";

export function progressBar(label) {
  const fill = svg("rect", { class: "progress__fill", x: "0", y: "0", height: "100%", width: "0%" });
  const text = h("span", { class: "progress__text", text: "0%" });
  const element = h(
    "div",
    {
      class: "progress",
      role: "progressbar",
      "aria-label": label,
      "aria-valuemin": "0",
      "aria-valuemax": "100",
      "aria-valuenow": "0",
      "data-testid": "bulk-progress",
    },
    svg(
      "svg",
      { class: "progress__bar", width: "100%", height: "24", "aria-hidden": "true", focusable: "false" },
      svg("rect", { class: "progress__track", x: "0", y: "0", width: "100%", height: "100%" }),
      fill,
    ),
    text,
  );
  return {
    element,
    set(fraction, detail) {
      const percent = Math.max(0, Math.min(100, Math.round(fraction * 100)));
      fill.setAttribute("width", `${percent}%`);
      element.setAttribute("aria-valuenow", String(percent));
      element.setAttribute("aria-valuetext", `${percent}%${detail ? `, ${detail}` : ""}`);
      text.textContent = `${percent}%${detail ? ` (${detail})` : ""}`;
    },
  };
}
