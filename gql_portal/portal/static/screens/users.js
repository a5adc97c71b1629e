// Users: search, filters by role and 2FA state, Load more, and a per-row Actions menu whose
// items follow the viewer's roles (CONTRACT section 2).

import { run } from "../api.js";
import { button, field, formatTime, h, input, put, select } from "../dom.js";
import { banner, form, heading } from "../forms.js";
import { ROLE, roleList, TWO_FACTOR_STATE } from "../labels.js";
import { confirmDialog, menuButton } from "../menu.js";

const PAGE = 100;

export async function render(main, app) {
  const security = app.hasRole("SECURITY_ADMIN");
  const mayChange = security || app.hasRole("SYSTEM_ADMIN");
  const fields = {
    search: field({ label: "Search", hint: "Part of the email address or name.", input: input({ type: "search", name: "search", class: "input" }) }),
    roles: field({ label: "Role", input: select([["", "Any role"], ...Object.entries(ROLE)], { name: "role", class: "select" }) }),
    twoFactorState: field({
      label: "Two-factor authentication",
      input: select([["", "Any state"], ...Object.entries(TWO_FACTOR_STATE)], { name: "state", class: "select" }),
    }),
  };
  const message = h("div", { "aria-live": "polite", class: "form-status" });
  const count = h("p", { class: "hint", "aria-live": "polite" });
  const body = h("tbody");
  const more = button("Load more", { class: "button button--secondary", hidden: true });
  let after = null;
  let filter = null;
  let switchOn = true;
  let shown = 0;

  const stateCell = (user) =>
    h("td", { "data-testid": "2fa-state", "data-state": user.twoFactor.state, text: TWO_FACTOR_STATE[user.twoFactor.state] });

  const act = async (user, send, done, trigger) => {
    message.replaceChildren();
    try {
      const result = await send({ userId: user.id });
      const updated = Object.values(result)[0];
      const row = body.querySelector(`tr[data-user-id="${CSS.escape(user.id)}"]`);
      if (row) row.replaceWith(userRow(updated));
      message.replaceChildren(banner(done(updated), "success"));
    } catch (error) {
      message.replaceChildren(banner(`${user.email}: ${app.describeError(error)}`, "error"));
    }
    const fresh = body.querySelector(`tr[data-user-id="${CSS.escape(user.id)}"] .menu__button`);
    (fresh || trigger).focus();
  };

  const itemsFor = (user) => {
    const items = [];
    const twoFactor = user.twoFactor;
    if (security && !twoFactor.enabled) {
      items.push(
        switchOn
          ? {
              label: "Enable Two-Factor Authentication",
              action: (trigger) => act(user, (variables) => run("enable-user-two-factor", variables), (u) => `Two-factor authentication is enabled for ${u.email}.`, trigger),
            }
          : { label: "Two-Factor Authentication not available", disabled: true },
      );
    }
    if (mayChange && twoFactor.enabled) {
      items.push({
        label: "Disable Two-Factor Authentication",
        action: (trigger) => act(user, (variables) => run("disable-user-two-factor", variables), (u) => `Two-factor authentication is disabled for ${u.email}.`, trigger),
      });
    }
    if (mayChange) {
      items.push({
        label: "Reset authenticator",
        action: async (trigger) => {
          const sure = await confirmDialog({
            title: `Reset the authenticator of ${user.email}?`,
            body: "Their authenticator app and recovery codes stop working and they are signed out everywhere. If two-factor authentication is on for them, they set it up again at their next sign-in.",
            confirm: "Reset authenticator",
            opener: trigger,
          });
          if (sure) await act(user, (variables) => run("reset-user-two-factor", variables), (u) => `The authenticator of ${u.email} is reset.`, trigger);
        },
      });
    }
    return items;
  };

  const userRow = (user) => {
    const items = itemsFor(user);
    return h(
      "tr",
      { "data-user-id": user.id },
      h("td", { class: "cell--email", text: user.email }),
      h("td", { text: user.displayName || "" }),
      h("td", { text: roleList(user.roles) }),
      stateCell(user),
      h("td", { text: user.lastLoginAt ? formatTime(user.lastLoginAt) : "Never" }),
      mayChange ? h("td", { class: "cell--actions" }, items.length ? menuButton(`Actions for ${user.email}`, items) : null) : null,
    );
  };

  const load = async (reset) => {
    if (reset) {
      after = null;
      shown = 0;
    }
    const data = await run("users", { first: PAGE, after, filter });
    switchOn = data.domain.passwordSecurityRules.twoFactorEnabled;
    const rows = data.users.edges.map((edge) => userRow(edge.node));
    if (reset) body.replaceChildren(...rows);
    else body.append(...rows);
    shown += rows.length;
    after = data.users.pageInfo.endCursor;
    more.hidden = !data.users.pageInfo.hasNextPage;
    count.textContent = shown === 0 ? "No users match." : `Showing ${shown} user${shown === 1 ? "" : "s"}${more.hidden ? "" : ", more to load"}.`;
    return rows;
  };

  more.addEventListener("click", async () => {
    more.disabled = true;
    try {
      const rows = await load(false);
      const firstNew = rows[0] && rows[0].querySelector(".menu__button, td");
      if (firstNew && firstNew.focus) firstNew.focus();
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
      const search = fields.search.input.value.trim();
      const role = fields.roles.input.value;
      const state = fields.twoFactorState.input.value;
      filter = { search: search || null, roles: role ? [role] : null, twoFactorState: state || null };
      try {
        await load(true);
      } catch (error) {
        showApiError(error);
      }
    },
  });
  filterForm.element.classList.add("form--inline");
  filterForm.element.setAttribute("role", "search");
  filterForm.element.setAttribute("aria-label", "Filter users");

  await load(true);
  put(main, 
    ...heading("Users"),
    switchOn ? null : banner("Enable 2FA is off in Client Settings, so Two-Factor Authentication is not available to anyone now.", "warning"),
    filterForm.element,
    message,
    count,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table" },
        h("caption", { class: "visually-hidden", text: "Users of your domain" }),
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            ["Email", "Name", "Roles", "Two-factor authentication", "Last sign-in", mayChange ? "Actions" : null]
              .filter(Boolean)
              .map((label) => h("th", { scope: "col", text: label })),
          ),
        ),
        body,
      ),
    ),
    h("div", { class: "actions" }, more),
  );
}
