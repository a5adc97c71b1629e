// Client Settings -> Provisioning (System Administrators): the SCIM base URL for Okta, Entra
// ID or any SCIM client, and the domain's provisioning tokens: create (shown once), list,
// revoke. The server keeps only a hash of each token.

import { run } from "../api.js";
import { button, field, formatTime, h, input, put, subNav, uid } from "../dom.js";
import { banner, form, heading } from "../forms.js";
import { confirmDialog } from "../menu.js";
import { SETTINGS_PAGES } from "./settings.js";

// A read-only value with a Copy button; `copied` says what happened, for every user.
// `noun` names the value in a sentence ("the new token").
function copyable(label, noun, value, app) {
  const id = uid("copy");
  const copied = h("p", { class: "hint", "aria-live": "polite" });
  const box = input({ id, readonly: true, value, class: "input", spellcheck: "false", "aria-label": label });
  return h(
    "div",
    null,
    h(
      "div",
      { class: "secret" },
      box,
      button("Copy", {
        class: "button button--secondary",
        "aria-label": `Copy ${noun}`,
        on: {
          click: async () => {
            try {
              await navigator.clipboard.writeText(value);
              copied.textContent = `Copied: ${noun}.`;
            } catch {
              box.select();
              copied.textContent = "Copying is not allowed here: the text is selected, copy it with your keyboard.";
            }
            app.announce(copied.textContent);
          },
        },
      }),
    ),
    copied,
  );
}

export async function render(main, app) {
  const baseUrl = `${location.origin}/scim/v2`;
  const message = h("div", { class: "form-status", "aria-live": "polite" });
  const created = h("div");
  const body = h("tbody", { "data-testid": "scim-tokens" });
  const empty = h("p", { text: "No token yet. Create one for each identity provider that provisions your users." });

  const tokenRow = (token) => {
    const revoke = token.revokedAt
      ? null
      : button("Revoke", {
          class: "button button--danger",
          "aria-label": `Revoke ${token.label}`,
          on: {
            click: async (event) => {
              const trigger = event.currentTarget;
              const sure = await confirmDialog({
                title: `Revoke the token “${token.label}”?`,
                body: "The identity provider using it can no longer create or change users. This cannot be undone: to provision again, create a new token.",
                confirm: "Revoke",
                opener: trigger,
              });
              if (!sure) return;
              message.replaceChildren();
              try {
                const revoked = (await run("revoke-scim-token", { id: token.id })).revokeScimToken;
                body.querySelector(`tr[data-token-id="${CSS.escape(token.id)}"]`).replaceWith(tokenRow(revoked));
                message.replaceChildren(banner(`The token “${revoked.label}” is revoked.`, "success"));
              } catch (error) {
                message.replaceChildren(banner(app.describeError(error), "error"));
              }
              main.querySelector("h1").focus();
            },
          },
        });
    return h(
      "tr",
      { "data-token-id": token.id, class: token.revokedAt ? "row--inactive" : null },
      h("td", { text: token.label }),
      h("td", { text: formatTime(token.createdAt) }),
      h("td", { class: "cell--email", text: token.createdByEmail || "-" }),
      h("td", { text: token.lastUsedAt ? formatTime(token.lastUsedAt) : "Never" }),
      h("td", null, token.revokedAt ? h("span", { class: "status status--inactive", text: `Revoked ${formatTime(token.revokedAt)}` }) : h("span", { class: "status", text: "Active" })),
      h("td", null, revoke),
    );
  };

  const draw = (tokens) => {
    body.replaceChildren(...tokens.map(tokenRow));
    empty.hidden = tokens.length > 0;
    table.hidden = tokens.length === 0;
  };

  const label = field({ label: "Label", hint: "Who will use it, for example Okta or Entra ID.", input: input({ name: "label", autocomplete: "off", class: "input" }) });
  const createForm = form({
    fields: { label },
    submit: "Create token",
    async onSubmit({ showErrors, showApiError }) {
      const value = label.input.value.trim();
      if (!value) {
        showErrors([["label", "Enter a label"]]);
        return;
      }
      let token;
      try {
        token = (await run("create-scim-token", { label: value })).createScimToken;
      } catch (error) {
        showApiError(error);
        return;
      }
      label.input.value = "";
      created.replaceChildren(
        banner(`The token “${value}” is created. Copy it now and paste it in your identity provider: you will not see it again.`, "success"),
        copyable("New token", "the new token", token, app),
      );
      draw((await run("scim-tokens")).scimTokens);
      created.querySelector("input").focus();
    },
  });

  const table = h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "table" },
      h("caption", { class: "visually-hidden", text: "Provisioning tokens" }),
      h("thead", null, h("tr", null, ["Label", "Created", "Created by", "Last used", "Status", "Actions"].map((text) => h("th", { scope: "col", text })))),
      body,
    ),
  );
  draw((await run("scim-tokens")).scimTokens);

  put(main, 
    ...heading("Provisioning", "Client Settings"),
    subNav("Client Settings", SETTINGS_PAGES, "settings/provisioning"),
    h("p", { class: "lead", text: "Your identity provider (Okta, Entra ID or any SCIM 2.0 client) creates, updates and deactivates your users here." }),
    message,
    h(
      "section",
      { "aria-labelledby": "scim-url-heading" },
      h("h2", { id: "scim-url-heading", text: "SCIM base URL" }),
      h("p", { text: "Enter this address in your identity provider's SCIM settings, with a token below as the bearer token." }),
      copyable("SCIM base URL", "the SCIM base URL", baseUrl, app),
    ),
    h(
      "section",
      { class: "section", "aria-labelledby": "new-token-heading" },
      h("h2", { id: "new-token-heading", text: "New token" }),
      createForm.element,
      created,
    ),
    h(
      "section",
      { class: "section", "aria-labelledby": "tokens-heading" },
      h("h2", { id: "tokens-heading", text: "Tokens" }),
      empty,
      table,
    ),
  );
}
