// Forgot password: one question (the email), and one answer whatever happened, so the page
// never tells whether an account exists.

import { run } from "../api.js";
import { field, h, input, put } from "../dom.js";
import { banner, form, heading } from "../forms.js";

export const SENT = "If an account exists for that email, we sent a link to set a new password. It works once, for 30 minutes.";

export function render(main) {
  const fields = {
    email: field({
      label: "Email",
      hint: "The email address of your portal account.",
      input: input({ type: "email", name: "email", autocomplete: "username", spellcheck: "false", class: "input" }),
    }),
  };
  const sent = h("div", { "aria-live": "polite" });
  const resetForm = form({
    fields,
    submit: "Send reset link",
    async onSubmit({ showErrors, showApiError }) {
      const email = fields.email.input.value.trim();
      if (!email) {
        showErrors([["email", "Enter your email address"]]);
        return;
      }
      try {
        await run("request-password-reset", { email });
      } catch (error) {
        showApiError(error);
        return;
      }
      sent.replaceChildren(banner(SENT, "success"));
    },
  });
  put(main,
    ...heading("Forgot your password?"),
    h("p", { class: "lead", text: "Enter your email address and we will send you a link to set a new password." }),
    resetForm.element,
    sent,
    h("p", null, h("a", { href: "#/sign-in", text: "Back to Sign in" })),
  );
}
