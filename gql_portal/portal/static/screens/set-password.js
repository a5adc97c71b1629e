// Set password, opened from an invitation or reset mail (#/set-password?token=...). The
// token is taken out of the address at once (it stays in this module only), so it is not
// left in the browser's history; the server says whether the link may be used and the
// domain's minimum length before anything is typed.

import { run } from "../api.js";
import { field, h, input, put, replace } from "../dom.js";
import { ApiError } from "../errors.js";
import { banner, form, heading } from "../forms.js";

export const LINK_UNUSABLE = "This link has expired or was already used";

let token = null;

function takeToken() {
  const query = location.hash.split("?")[1] || "";
  const fromAddress = new URLSearchParams(query).get("token");
  if (fromAddress) {
    token = fromAddress;
    history.replaceState(null, "", `${location.pathname}${location.search}#/set-password`);
  }
  return token;
}

function unusable(main) {
  replace(main,
    ...heading("Set your password"),
    banner(`${LINK_UNUSABLE}.`, "error"),
    h("p", { text: "Links from our emails work once, for a limited time. Ask for a new one and use the newest email." }),
    h("p", null, h("a", { href: "#/forgot-password", class: "button", text: "Send a new link" })),
    h("p", null, h("a", { href: "#/sign-in", text: "Back to Sign in" })),
  );
}

export async function render(main, app) {
  const current = takeToken();
  if (!current) {
    unusable(main);
    return;
  }
  let link;
  try {
    link = (await run("password-link", { token: current })).passwordLink;
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== "TOO_MANY_ATTEMPTS") throw error;
    put(main, ...heading("Set your password"), banner(app.describeError(error), "error"));
    return;
  }
  if (!link) {
    token = null;
    unusable(main);
    return;
  }
  const minimum = link.minPasswordLength;
  const fields = {
    password: field({
      label: "New password",
      hint: `Use at least ${minimum} characters. A few unrelated words make a long password that is easy to remember.`,
      input: input({ type: "password", name: "password", autocomplete: "new-password", class: "input" }),
    }),
    confirm: field({
      label: "Confirm new password",
      input: input({ type: "password", name: "confirm", autocomplete: "new-password", class: "input" }),
    }),
  };
  const setForm = form({
    fields,
    submit: "Set password",
    async onSubmit({ showErrors, showApiError }) {
      const password = fields.password.input.value;
      const confirm = fields.confirm.input.value;
      const problems = [];
      if (!password) problems.push(["password", "Enter a new password"]);
      else if (password.length < minimum) problems.push(["password", `Password must have at least ${minimum} characters`]);
      if (password && confirm !== password) problems.push(["confirm", "Enter the same password twice"]);
      if (problems.length) {
        showErrors(problems);
        return;
      }
      try {
        await run("set-password", { token: current, password });
      } catch (error) {
        if (error instanceof ApiError && error.field === "token") {
          token = null;
          unusable(main);
          const title = main.querySelector("h1");
          title.setAttribute("tabindex", "-1");
          title.focus();
          return;
        }
        showApiError(error);
        return;
      }
      token = null;
      // Every session of the account was ended: sign in with the new password.
      app.signedOut("Your password is set. Sign in with it.");
    },
  });
  const invitation = link.purpose === "INVITATION";
  put(main,
    ...heading(invitation ? "Welcome: choose your password" : "Set a new password"),
    h("p", {
      class: "lead",
      text: invitation
        ? "You were invited to the portal. Choose the password you will sign in with."
        : "Choose a new password. Once it is set, every device signed in to your account is signed out.",
    }),
    setForm.element,
  );
}
