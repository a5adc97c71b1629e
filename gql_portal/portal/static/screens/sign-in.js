import { run } from "../api.js";
import { field, h, input, put } from "../dom.js";
import { form, heading } from "../forms.js";

export function render(main, app) {
  const fields = {
    email: field({
      label: "Email",
      input: input({ type: "email", name: "email", autocomplete: "username", spellcheck: "false", class: "input" }),
    }),
    password: field({
      label: "Password",
      input: input({ type: "password", name: "password", autocomplete: "current-password", class: "input" }),
    }),
  };
  const signInForm = form({
    fields,
    submit: "Sign in",
    async onSubmit({ showErrors, showApiError }) {
      const email = fields.email.input.value.trim();
      const password = fields.password.input.value;
      const missing = [];
      if (!email) missing.push(["email", "Enter your email address"]);
      if (!password) missing.push(["password", "Enter your password"]);
      if (missing.length) {
        showErrors(missing);
        return;
      }
      try {
        await run("login", { email, password });
      } catch (error) {
        fields.password.input.value = "";
        showApiError(error);
        return;
      }
      await app.refresh();
    },
  });
  put(main, 
    ...heading("Sign in"),
    h("p", { class: "lead", text: "Sign in with the email address and password of your portal account." }),
    signInForm.element,
    h("p", null, h("a", { href: "#/forgot-password", text: "Forgot your password?" })),
  );
}
