// The recovery codes panel, shown once after enrollment and after regenerating them.

import { button, downloadText, h, uid } from "./dom.js";

export function recoveryCodesPanel(codes, account, app) {
  const text = `Recovery codes for ${account}\nEach code works once.\n\n${codes.join("\n")}\n`;
  const copied = h("p", { class: "hint", "aria-live": "polite" });
  return h(
    "div",
    { class: "recovery-codes" },
    h("ol", { class: "recovery-codes__list", "aria-label": "Recovery codes" }, codes.map((item) => h("li", { class: "code-text", text: item }))),
    h(
      "div",
      { class: "actions" },
      button("Download", {
        class: "button button--secondary",
        on: { click: () => downloadText("recovery-codes.txt", text) },
      }),
      button("Copy", {
        class: "button button--secondary",
        on: {
          click: async () => {
            try {
              await navigator.clipboard.writeText(codes.join("\n"));
              copied.textContent = "The codes are copied.";
            } catch {
              copied.textContent = "Copying is not allowed here: select the codes and copy them, or use Download.";
            }
            app.announce(copied.textContent);
          },
        },
      }),
    ),
    copied,
  );
}

// Continue stays disabled until "I have saved these codes" is ticked.
export function savedCodesAcknowledgement(onContinue) {
  const checkboxId = uid("saved");
  const checkbox = h("input", { type: "checkbox", id: checkboxId, class: "checkbox__input" });
  const next = button("Continue", { class: "button", disabled: true, on: { click: onContinue } });
  checkbox.addEventListener("change", () => {
    next.disabled = !checkbox.checked;
  });
  return h(
    "div",
    { class: "acknowledge" },
    h("div", { class: "checkbox" }, checkbox, h("label", { for: checkboxId, class: "checkbox__label", text: "I have saved these codes" })),
    h("div", { class: "actions" }, next),
  );
}
