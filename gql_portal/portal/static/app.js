// The shell: session, hash routes, role-aware navigation. Each screen is a module whose
// render(main, app) draws it and may return a function that stops its timers and sockets.

import { onApiError, run } from "./api.js";
import { clear, h, replace } from "./dom.js";
import { ApiError, describeError } from "./errors.js";
import * as account from "./screens/account.js";
import * as addUser from "./screens/add-user.js";
import * as audit from "./screens/audit.js";
import * as bulk from "./screens/bulk.js";
import * as code from "./screens/code.js";
import * as editUser from "./screens/edit-user.js";
import * as forgotPassword from "./screens/forgot-password.js";
import * as importUsers from "./screens/import-users.js";
import * as notifications from "./screens/notifications.js";
import * as password from "./screens/password.js";
import * as provisioning from "./screens/provisioning.js";
import * as sessions from "./screens/sessions.js";
import * as setPassword from "./screens/set-password.js";
import * as settings from "./screens/settings.js";
import * as setup from "./screens/setup.js";
import * as signIn from "./screens/sign-in.js";
import * as users from "./screens/users.js";

const ADMINS = ["SECURITY_ADMIN", "SYSTEM_ADMIN", "AUDITOR"];

// Navigation in the help page's words; `roles` are those the screen is offered to. A page
// without a link of its own belongs to the `under` screen (its link stays current there).
const SCREENS = [
  { path: "settings", link: "Client Settings", screen: settings, roles: ADMINS },
  { path: "settings/provisioning", under: "settings", screen: provisioning, roles: ["SYSTEM_ADMIN"] },
  { path: "users", link: "Users", screen: users, roles: ADMINS },
  { path: "users/new", under: "users", screen: addUser, roles: ["SYSTEM_ADMIN"] },
  { path: "users/import", under: "users", screen: importUsers, roles: ["SYSTEM_ADMIN"] },
  { path: "users/edit", under: "users", screen: editUser, roles: ["SYSTEM_ADMIN"] },
  { path: "bulk", link: "Bulk enablement", screen: bulk, roles: ["SECURITY_ADMIN"] },
  { path: "audit", link: "Audit log", screen: audit, roles: ADMINS },
  { path: "notifications", link: "Notifications", screen: notifications, roles: ADMINS },
  { path: "account", link: "My account", screen: account, roles: null },
  { path: "account/password", under: "account", screen: password, roles: null },
  { path: "account/sessions", under: "account", screen: sessions, roles: null },
];
const STEPS = { "sign-in": signIn, setup, code };
// Opened from a mail or by someone who cannot sign in: shown whatever the session's step.
const OPEN = { "forgot-password": forgotPassword, "set-password": setPassword };

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const accountName = document.getElementById("account-name");
const signOutButton = document.getElementById("sign-out");
const announcer = document.getElementById("announcer");

const app = {
  // { me, step } where step is "SIGNED_OUT", "AUTHENTICATED", "ENROLLMENT_REQUIRED" or "TOTP_REQUIRED"
  session: { me: null, step: "SIGNED_OUT" },
  flash: null,
  navigate(path) {
    if (location.hash === `#/${path}`) route();
    else location.hash = `#/${path}`;
  },
  announce(message) {
    announcer.textContent = "";
    setTimeout(() => {
      announcer.textContent = message;
    }, 50);
  },
  hasRole(...roles) {
    return Boolean(app.session.me) && app.session.me.roles.some((role) => roles.includes(role));
  },
  // After sign-in or a completed step: read the session again and go to its first screen.
  async refresh(flash) {
    app.flash = flash || null;
    await loadSession();
    app.navigate(homePath());
  },
  async signOut() {
    try {
      await run("logout");
    } catch {
      // Signed out here whatever the server said: the cookie is gone or no longer works.
    }
    app.signedOut("You are signed out.");
  },
  signedOut(flash) {
    app.session = { me: null, step: "SIGNED_OUT" };
    app.flash = flash || null;
    drawNav();
    app.navigate("sign-in");
  },
  // The route's query: #/users/edit?id=5 -> URLSearchParams {id: "5"}.
  params() {
    const query = location.hash.split("?")[1] || "";
    return new URLSearchParams(query);
  },
  takeFlash() {
    const flash = app.flash;
    app.flash = null;
    return flash;
  },
  describeError,
};

function allowed(entry) {
  return entry.roles === null || app.hasRole(...entry.roles);
}

function homePath() {
  const step = app.session.step;
  if (step === "SIGNED_OUT") return "sign-in";
  if (step === "ENROLLMENT_REQUIRED") return "setup";
  if (step === "TOTP_REQUIRED") return "code";
  const deadline = app.session.me.twoFactor.enrollmentDeadline;
  if (deadline && !app.session.me.twoFactor.enrolled && !app.session.graceShown) {
    app.session.graceShown = true;
    return "setup";
  }
  return app.hasRole(...ADMINS) ? "settings" : "account";
}

async function loadSession() {
  // Both at once: who is signed in, and whether the session still has a step to take.
  const [identity, gate] = await Promise.allSettled([run("me"), run("session-step")]);
  if (identity.status === "rejected") {
    const error = identity.reason;
    // A cookie that expired or was revoked: start again at Sign in.
    if (!(error instanceof ApiError) || error.code !== "UNAUTHENTICATED") throw error;
    app.flash = "Your session has expired. Sign in again.";
  }
  const me = identity.status === "fulfilled" ? identity.value.me : null;
  if (!me) {
    app.session = { me: null, step: "SIGNED_OUT" };
    return;
  }
  let step = "AUTHENTICATED";
  if (gate.status === "rejected") {
    const error = gate.reason;
    if (!(error instanceof ApiError) || error.code !== "TWO_FACTOR_REQUIRED") throw error;
    step = error.extensions.status || (me.twoFactor.enrolled ? "TOTP_REQUIRED" : "ENROLLMENT_REQUIRED");
  }
  app.session = { ...app.session, me, step };
}

function drawNav() {
  const { me, step } = app.session;
  clear(nav);
  accountName.textContent = me ? me.email : "";
  signOutButton.hidden = step === "SIGNED_OUT";
  nav.hidden = step !== "AUTHENTICATED";
  if (nav.hidden) return;
  const path = currentPath();
  const here = SCREENS.find((entry) => entry.path === path);
  const current = here && here.under ? here.under : path;
  const list = h("ul", { class: "nav__list" });
  for (const entry of SCREENS.filter((candidate) => candidate.link && allowed(candidate))) {
    list.append(
      h(
        "li",
        null,
        h("a", {
          class: "nav__link",
          href: `#/${entry.path}`,
          text: entry.link,
          "aria-current": entry.path === current ? "page" : null,
        }),
      ),
    );
  }
  nav.append(list);
}

function currentPath() {
  return location.hash.replace(/^#\/?/, "").split("?")[0];
}

function screenFor(path) {
  const { step } = app.session;
  if (OPEN[path]) return OPEN[path];
  if (step === "SIGNED_OUT") return path === "sign-in" ? STEPS["sign-in"] : null;
  if (step === "ENROLLMENT_REQUIRED") return path === "setup" ? setup : null;
  if (step === "TOTP_REQUIRED") return path === "code" ? code : null;
  // Once enrolled, the secret is never shown again: set-up is for those still to enroll.
  if (path === "setup") return app.session.me.twoFactor.enrolled ? null : setup;
  const entry = SCREENS.find((candidate) => candidate.path === path);
  return entry && allowed(entry) ? entry.screen : null;
}

let stopScreen = null;
// Each route draws into a view of its own: a screen still loading when another is chosen
// (a quick second click) finishes into its detached view and is dropped, never mixed in.
let routes = 0;

async function route() {
  if (stopScreen) stopScreen();
  stopScreen = null;
  const path = currentPath();
  const screen = screenFor(path);
  if (!screen) {
    app.navigate(homePath());
    return;
  }
  drawNav();
  routes += 1;
  const turn = routes;
  const view = h("div", { class: "view" });
  replace(main, view);
  const flash = app.takeFlash();
  try {
    const stop = await screen.render(view, app);
    if (turn !== routes) {
      if (typeof stop === "function") stop();
      return;
    }
    stopScreen = typeof stop === "function" ? stop : null;
    // What the last step wants the person to know ("You are signed out."), under the heading.
    if (flash) {
      const note = h("div", { class: "banner", role: "status", text: flash });
      const first = view.querySelector("h1");
      if (first) first.after(note);
      else view.prepend(note);
      app.announce(flash);
    }
  } catch (error) {
    if (turn !== routes) return;
    if (error instanceof ApiError && error.code === "UNAUTHENTICATED") return;
    replace(view, 
      h("h1", { class: "heading", tabindex: "-1", text: "Sorry, there is a problem" }),
      h("p", { class: "banner banner--error", role: "alert", text: describeError(error) }),
      h("p", null, h("a", { href: `#/${path}`, text: "Try again", on: { click: () => setTimeout(route) } })),
    );
  }
  const heading = view.querySelector("h1");
  if (heading) {
    document.title = `${heading.textContent} - Client Web Portal`;
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}

onApiError((error) => {
  if (error.code === "UNAUTHENTICATED" && app.session.step !== "SIGNED_OUT") {
    app.signedOut("Your session has expired. Sign in again.");
  } else if (error.code === "TWO_FACTOR_REQUIRED" && app.session.step === "AUTHENTICATED") {
    // An administrator turned 2FA on for this session: it must pass the gate now.
    app.session.step = error.extensions.status || "TOTP_REQUIRED";
    setTimeout(() => app.navigate(homePath()));
  }
});

signOutButton.addEventListener("click", () => app.signOut());

async function start() {
  try {
    await loadSession();
  } catch (error) {
    replace(main, 
      h("h1", { class: "heading", text: "Sorry, the portal cannot start" }),
      h("p", { class: "banner banner--error", role: "alert", text: describeError(error) }),
      h("p", null, "Reload the page to try again."),
    );
    return;
  }
  window.addEventListener("hashchange", route);
  if (!screenFor(currentPath())) app.navigate(homePath());
  else route();
}

start();
