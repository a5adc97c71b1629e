// Users -> Actions -> Edit: display name and roles. Nobody changes their own roles (CONTRACT
// section 10), so on one's own account the roles are shown but cannot be changed.

import { run } from "../api.js";
import { field, h, input, put } from "../dom.js";
import { banner, checkboxGroup, form, heading } from "../forms.js";
import { ROLE } from "../labels.js";

export async function render(main, app) {
  const id = app.params().get("id") || "";
  const data = await run("edit-user", { id });
  const user = data.user;
  if (!user) {
    put(main, 
      ...heading("User not found", "Users"),
      h("p", { text: "This user does not exist in your domain. They may have been removed." }),
      h("p", null, h("a", { href: "#/users", text: "Back to Users" })),
    );
    return;
  }
  const self = user.id === data.me.id;
  const fields = {
    displayName: field({ label: "Name", input: input({ name: "displayName", autocomplete: "off", class: "input", value: user.displayName || "" }) }),
    roles: checkboxGroup({
      legend: "Roles",
      hint: self ? "You cannot change your own roles: another System Administrator can." : "Tick at least one.",
      options: Object.entries(ROLE),
      checked: user.roles,
      disabled: self,
    }),
  };
  const editForm = form({
    fields,
    submit: "Save changes",
    async onSubmit({ showErrors, showApiError }) {
      const roles = fields.roles.values();
      if (!self && !roles.length) {
        showErrors([["roles", "Tick at least one role"]]);
        return;
      }
      const changes = { displayName: fields.displayName.input.value.trim() };
      if (!self) changes.roles = roles;
      try {
        await run("update-user", { userId: user.id, input: changes });
      } catch (error) {
        showApiError(error);
        return;
      }
      app.flash = `The changes to ${user.email} are saved.`;
      app.navigate("users");
    },
  });
  put(main, 
    ...heading(`Edit ${user.email}`, "Users"),
    user.active ? null : banner("This user is deactivated: they cannot sign in until they are reactivated.", "warning"),
    editForm.element,
    h("p", null, h("a", { href: "#/users", text: "Back to Users" })),
  );
}
