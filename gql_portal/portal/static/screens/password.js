// My account -> Password: the current password, the new one twice. The domain's minimum
// length is shown and checked here first; the server checks it again and, on success,
// signs out every other session of the account (CONTRACT section 10).

import { run } from "../api.js";
import { field, h, input, put, subNav } from "../dom.js";
import { banner, form, heading } from "../forms.js";
import { ACCOUNT_PAGES } from "./account.js";

export async function render(main, app) {
  const minimum = (await run("password-rules")).domain.passwordSecurityRules.minPasswordLength;
  const secret = (name, autocomplete) => input({ type: "password", name, autocomplete, class: "input" });
  const fields = {
    currentPassword: field({ label: "Current password", input: secret("currentPassword", "current-password") }),
    newPassword: field({ label: "New password", hint: `At least ${minimum} characters. A few unrelated words are easy to remember and hard to guess.`, input: secret("newPassword", "new-password") }),
    confirm: field({ label: "Confirm new password", input: secret("confirm", "new-password") }),
  };
  const status = h("div", { class: "form-status", "aria-live": "polite" });
  const passwordForm = form({
    fields,
    submit: "Change password",
    async onSubmit({ showErrors, showApiError }) {
      status.replaceChildren();
      const current = fields.currentPassword.input.value;
      const next = fields.newPassword.input.value;
      const problems = [];
      if (!current) problems.push(["currentPassword", "Enter your current password"]);
      if (next.length < minimum) problems.push(["newPassword", `The new password must be at least ${minimum} characters`]);
      else if (fields.confirm.input.value !== next) problems.push(["confirm", "The two new passwords are not the same"]);
      if (problems.length) {
        showErrors(problems);
        return;
      }
      try {
        await run("change-password", { currentPassword: current, newPassword: next });
      } catch (error) {
        if (error.code === "INVALID_CREDENTIALS") showErrors([["currentPassword", "Your current password is not correct"]]);
        else showApiError(error);
        return;
      }
      for (const entry of Object.values(fields)) entry.input.value = "";
      status.replaceChildren(banner("Your password is changed. You stay signed in here; every other session of your account is signed out.", "success"));
      app.announce("Your password is changed.");
    },
  });
  put(main, 
    ...heading("Password", "My account"),
    subNav("My account", ACCOUNT_PAGES, "account/password"),
    status,
    passwordForm.element,
  );
}
