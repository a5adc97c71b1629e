// My account -> Sessions: where the account is signed in (browser, address, when), this
// device marked; sign out one other session, or everywhere (this one included).

import { run } from "../api.js";
import { button, formatTime, h, put, subNav } from "../dom.js";
import { banner, heading } from "../forms.js";
import { confirmDialog } from "../menu.js";
import { ACCOUNT_PAGES } from "./account.js";

// "Chrome on Linux" from a user agent; the whole string stays in the cell's title.
function device(userAgent) {
  if (!userAgent) return "Unknown device";
  const browsers = [["Edg/", "Edge"], ["Firefox/", "Firefox"], ["Chrome/", "Chrome"], ["Safari/", "Safari"], ["curl/", "curl"], ["python-httpx/", "A script (httpx)"]];
  const systems = [["Windows", "Windows"], ["Android", "Android"], ["iPhone", "iPhone"], ["Mac OS X", "macOS"], ["Linux", "Linux"]];
  const browser = browsers.find(([mark]) => userAgent.includes(mark));
  const system = systems.find(([mark]) => userAgent.includes(mark));
  if (!browser) return userAgent.slice(0, 60);
  return system ? `${browser[1]} on ${system[1]}` : browser[1];
}

export async function render(main, app) {
  const message = h("div", { class: "form-status", "aria-live": "polite" });
  const body = h("tbody", { "data-testid": "sessions" });
  const count = h("p", { class: "hint" });

  const sessionRow = (session) => {
    const when = formatTime(session.createdAt);
    const signOut = session.current
      ? null
      : button("Sign out", {
          class: "button button--secondary",
          "aria-label": `Sign out the session of ${device(session.userAgent)} started ${when}`,
          on: {
            click: async () => {
              message.replaceChildren();
              try {
                await run("revoke-session", { id: session.id });
                message.replaceChildren(banner(`The session of ${device(session.userAgent)} started ${when} is signed out.`, "success"));
              } catch (error) {
                message.replaceChildren(banner(app.describeError(error), "error"));
              }
              await load();
              main.querySelector("h1").focus();
            },
          },
        });
    return h(
      "tr",
      { "data-session-id": session.id, "data-current": String(session.current) },
      h("td", { title: session.userAgent || null }, device(session.userAgent), session.current ? h("strong", { class: "status--current", text: "This device" }) : null),
      h("td", { text: session.ip || "Unknown" }),
      h("td", { text: when }),
      h("td", { text: formatTime(session.lastSeenAt) }),
      h("td", null, signOut),
    );
  };

  const load = async () => {
    const sessions = (await run("my-sessions")).mySessions;
    body.replaceChildren(...sessions.map(sessionRow));
    count.textContent = sessions.length === 1 ? "You are signed in on this device only." : `You are signed in ${sessions.length} times, this device included.`;
  };

  const everywhere = button("Sign out everywhere", {
    class: "button button--danger",
    on: {
      click: async (event) => {
        const sure = await confirmDialog({
          title: "Sign out everywhere?",
          body: "Every session of your account ends, this one included. You sign in again here, and on each other device.",
          confirm: "Sign out everywhere",
          opener: event.currentTarget,
        });
        if (!sure) return;
        try {
          await run("logout-everywhere");
        } catch (error) {
          message.replaceChildren(banner(app.describeError(error), "error"));
          return;
        }
        app.signedOut("You are signed out everywhere.");
      },
    },
  });

  await load();
  put(main, 
    ...heading("Sessions", "My account"),
    subNav("My account", ACCOUNT_PAGES, "account/sessions"),
    h("p", { class: "lead", text: "Where your account is signed in. Sign out a session you do not recognise, then change your password." }),
    message,
    count,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "table" },
        h("caption", { class: "visually-hidden", text: "Your sessions" }),
        h("thead", null, h("tr", null, ["Device", "IP address", "Signed in", "Last seen", "Actions"].map((text) => h("th", { scope: "col", text })))),
        body,
      ),
    ),
    h("div", { class: "actions" }, everywhere),
  );
}
