// Users: search, filters by role, 2FA state and status, the total, Load more, and a per-row
// Actions menu whose items follow the viewer's roles (CONTRACT sections 2 and 10). A System
// Administrator also adds, imports, edits, deactivates and unlocks users.

import { run } from "../api.js";
import { button, field, formatCount, formatTime, h, input, put, select } from "../dom.js";
import { banner, form, heading } from "../forms.js";
import { ROLE, roleList, TWO_FACTOR_STATE } from "../labels.js";
import { confirmDialog, menuButton } from "../menu.js";

const PAGE = 100;
const STATUS = { ACTIVE: "Active", DEACTIVATED: "Deactivated" };

function statusCell(user) {
  const locked = user.loginLockedUntil && new Date(user.loginLockedUntil) > new Date();
  return h(
    "td",
    { "data-testid": "user-status", "data-active": String(user.active) },
    h("span", { class: user.active ? "status" : "status status--inactive", text: user.active ? STATUS.ACTIVE : STATUS.DEACTIVATED }),
    locked ? h("span", { class: "status status--locked", text: `Sign-in locked until ${formatTime(user.loginLockedUntil)}` }) : null,
  );
}

export async function render(main, app) {
  const security = app.hasRole("SECURITY_ADMIN");
  const system = app.hasRole("SYSTEM_ADMIN");
  const mayChange = security || system;
  const fields = {
    search: field({ label: "Search", hint: "Part of the email address or name.", input: input({ type: "search", name: "search", class: "input" }) }),
    roles: field({ label: "Role", input: select([["", "Any role"], ...Object.entries(ROLE)], { name: "role", class: "select" }) }),
    twoFactorState: field({
      label: "Two-factor authentication",
      input: select([["", "Any state"], ...Object.entries(TWO_FACTOR_STATE)], { name: "state", class: "select" }),
    }),
    active: field({ label: "Status", input: select([["", "Any status"], ...Object.entries(STATUS)], { name: "status", class: "select" }) }),
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
    if (system) items.push(...accountItems(user));
    return items;
  };

  // A System Administrator's items (CONTRACT section 10); the API keeps the rules (own
  // roles, the last administrators) and its refusal is shown above the table.
  const accountItems = (user) => {
    const items = [{ label: "Edit", action: () => app.navigate(`users/edit?id=${encodeURIComponent(user.id)}`) }];
    const self = user.id === app.session.me.id;
    if (user.active && !self) {
      items.push({
        label: "Deactivate",
        action: async (trigger) => {
          const sure = await confirmDialog({
            title: `Deactivate ${user.email}?`,
            body: "They are signed out everywhere and cannot sign in until they are reactivated. Their two-factor authentication settings are kept.",
            confirm: "Deactivate",
            opener: trigger,
          });
          if (sure) await act(user, (variables) => run("deactivate-user", variables), (u) => `${u.email} is deactivated.`, trigger);
        },
      });
    } else if (!user.active) {
      items.push({
        label: "Reactivate",
        action: (trigger) => act(user, (variables) => run("reactivate-user", variables), (u) => `${u.email} is active again and can sign in.`, trigger),
      });
    }
    if (user.loginLockedUntil) {
      items.push({
        label: "Unlock sign-in",
        action: (trigger) =>
          act(user, (variables) => run("unlock-user-login", variables), (u) => `Sign-in is unlocked for ${u.email}: they can try their password again now.`, trigger),
      });
    }
    return items;
  };

  const userRow = (user) => {
    const items = itemsFor(user);
    return h(
      "tr",
      { "data-user-id": user.id, class: user.active ? null : "row--inactive" },
      h("td", { class: "cell--email", text: user.email }),
      h("td", { text: user.displayName || "" }),
      h("td", { text: roleList(user.roles) }),
      stateCell(user),
      h("td", { text: user.lastLoginAt ? formatTime(user.lastLoginAt) : "Never" }),
      statusCell(user),
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
    const total = data.users.totalCount;
    const users = `${formatCount(total)} user${total === 1 ? "" : "s"}`;
    count.textContent = total === 0 ? "No users match." : shown < total ? `${users}, showing ${formatCount(shown)}.` : `${users}.`;
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
      const status = fields.active.input.value;
      filter = { search: search || null, roles: role ? [role] : null, twoFactorState: state || null, active: status ? status === "ACTIVE" : null };
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
    system
      ? h(
          "div",
          { class: "actions" },
          h("a", { class: "button", href: "#/users/new", text: "Add user" }),
          h("a", { class: "button button--secondary", href: "#/users/import", text: "Import CSV" }),
        )
      : null,
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
            ["Email", "Name", "Roles", "Two-factor authentication", "Last sign-in", "Status", mayChange ? "Actions" : null]
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
