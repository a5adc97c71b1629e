// Users -> Add user: email, display name, roles and an optional password. Without one the
// user gets an invitation mail and chooses their password from its link (CONTRACT section 11).

import { run } from "../api.js";
import { field, h, input, put } from "../dom.js";
import { checkboxGroup, form, heading } from "../forms.js";
import { ROLE } from "../labels.js";

// The address is checked by the server; this only catches what is obviously not one.
const EMAIL = /^[^\s@]+@[^\s@]+$/;

export async function render(main, app) {
  const fields = {
    email: field({ label: "Email", input: input({ type: "email", name: "email", autocomplete: "off", spellcheck: "false", class: "input" }) }),
    displayName: field({ label: "Name", hint: "Optional. Shown on the Users screen and in mails.", input: input({ name: "displayName", autocomplete: "off", class: "input" }) }),
    roles: checkboxGroup({ legend: "Roles", hint: "Tick at least one.", options: Object.entries(ROLE), checked: ["USER"] }),
    password: field({
      label: "Password (optional)",
      hint: "Leave empty and the user gets an invitation mail with a link to choose their own password. If you set one, tell it to them safely.",
      input: input({ type: "password", name: "password", autocomplete: "new-password", class: "input" }),
    }),
  };
  const addForm = form({
    fields,
    submit: "Add user",
    async onSubmit({ showErrors, showApiError }) {
      const email = fields.email.input.value.trim();
      const roles = fields.roles.values();
      const password = fields.password.input.value;
      const problems = [];
      if (!email) problems.push(["email", "Enter the email address"]);
      else if (!EMAIL.test(email)) problems.push(["email", "Enter an email address like name@example.com"]);
      if (!roles.length) problems.push(["roles", "Tick at least one role"]);
      if (problems.length) {
        showErrors(problems);
        return;
      }
      let created;
      try {
        const variables = { input: { email, displayName: fields.displayName.input.value.trim(), roles, password: password || null } };
        created = (await run("create-user", variables)).createUser;
      } catch (error) {
        showApiError(error);
        return;
      }
      app.flash = password
        ? `${created.email} is added and can sign in with the password you set.`
        : `${created.email} is added. An invitation mail with a link to choose a password is on its way.`;
      app.navigate("users");
    },
  });
  put(main, 
    ...heading("Add user", "Users"),
    h("p", { class: "lead", text: "The user belongs to your domain. Two-factor authentication follows your domain's rules: enable it for them on the Users screen or with Bulk enablement." }),
    addForm.element,
    h("p", null, h("a", { href: "#/users", text: "Back to Users" })),
  );
}
