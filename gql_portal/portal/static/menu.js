// An actions menu button (WAI-ARIA menu button pattern) and a confirmation dialog.

import { button, h, uid } from "./dom.js";

export function menuButton(label, items) {
  const menuId = uid("menu");
  const trigger = h(
    "button",
    {
      type: "button",
      class: "menu__button",
      "aria-haspopup": "menu",
      "aria-expanded": "false",
      "aria-controls": menuId,
      "aria-label": label,
    },
    h("span", { "aria-hidden": "true", class: "menu__dots", text: "⋮" }),
  );
  const menu = h("ul", { class: "menu__list", role: "menu", id: menuId, "aria-label": label, hidden: true });
  const wrapper = h("div", { class: "menu" }, trigger, menu);
  const enabledItems = () => [...menu.querySelectorAll('[role="menuitem"]')];

  const close = (returnFocus) => {
    if (menu.hidden) return;
    menu.hidden = true;
    trigger.setAttribute("aria-expanded", "false");
    document.removeEventListener("pointerdown", outside, true);
    if (returnFocus) trigger.focus();
  };
  const outside = (event) => {
    if (!wrapper.contains(event.target)) close(false);
  };
  const open = (index = 0) => {
    menu.hidden = false;
    trigger.setAttribute("aria-expanded", "true");
    document.addEventListener("pointerdown", outside, true);
    const all = enabledItems();
    const target = all[(index + all.length) % all.length];
    if (target) target.focus();
  };

  for (const item of items) {
    const entry = h(
      "li",
      { role: "none" },
      h("button", {
        type: "button",
        role: "menuitem",
        class: "menu__item",
        tabindex: "-1",
        text: item.label,
        "aria-disabled": item.disabled ? "true" : null,
        on: {
          click: () => {
            if (item.disabled) return;
            close(true);
            item.action(trigger);
          },
        },
      }),
    );
    menu.append(entry);
  }

  trigger.addEventListener("click", () => (menu.hidden ? open(0) : close(true)));
  trigger.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      open(0);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      open(-1);
    }
  });
  menu.addEventListener("keydown", (event) => {
    const all = enabledItems();
    const index = all.indexOf(document.activeElement);
    const moves = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: all.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      all[(moves[event.key] + all.length) % all.length].focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      close(true);
    } else if (event.key === "Tab") {
      close(false);
    }
  });
  menu.addEventListener("focusout", (event) => {
    if (!wrapper.contains(event.relatedTarget)) close(false);
  });
  return wrapper;
}

// A modal <dialog>: the page behind is inert while it is open (focus stays inside), Escape
// cancels, and focus goes back to the control that opened it.
export function confirmDialog({ title, body, confirm, danger = true, opener }) {
  return new Promise((resolve) => {
    const titleId = uid("dialog-title");
    const yes = button(confirm, { class: danger ? "button button--danger" : "button" });
    const no = button("Cancel", { class: "button button--secondary" });
    const dialog = h(
      "dialog",
      { class: "dialog", "aria-labelledby": titleId },
      h("h2", { id: titleId, class: "dialog__title", text: title }),
      h("p", { text: body }),
      h("div", { class: "actions" }, yes, no),
    );
    const finish = (answer) => {
      dialog.close();
      dialog.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(answer);
    };
    yes.addEventListener("click", () => finish(true));
    no.addEventListener("click", () => finish(false));
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      finish(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    no.focus();
  });
}
