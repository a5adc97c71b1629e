// My account: 2FA state, recovery codes left, regenerate them (needs a code). Sign out is
// in the header of every screen.

import { run } from "../api.js";
import { h, put, subNav } from "../dom.js";
import { banner, checkCode, cleanCode, codeField, form, heading } from "../forms.js";
import { roleList, TWO_FACTOR_STATE } from "../labels.js";
import { recoveryCodesPanel } from "../recovery-codes.js";

// The pages of My account, for every role.
export const ACCOUNT_PAGES = [
  ["account", "Overview"],
  ["account/password", "Password"],
  ["account/sessions", "Sessions"],
];

function summaryRow(term, value, testid) {
  return [h("dt", { text: term }), h("dd", { "data-testid": testid || null, text: value })];
}

export async function render(main, app) {
  const { me } = await run("me");
  app.session.me = me;
  const twoFactor = me.twoFactor;
  const regenerated = h("div", { "aria-live": "polite" });
  const code = codeField();
  const regenerate = form({
    fields: { code },
    submit: "Generate new recovery codes",
    async onSubmit({ showErrors, showApiError }) {
      const problem = checkCode(code);
      if (problem) {
        showErrors([["code", problem]]);
        return;
      }
      let codes;
      try {
        codes = (await run("regenerate-recovery-codes", { code: cleanCode(code.input.value) })).regenerateRecoveryCodes;
      } catch (error) {
        code.input.value = "";
        showApiError(error);
        return;
      }
      code.input.value = "";
      regenerated.replaceChildren(
        banner("New recovery codes are ready. The old ones no longer work. Save these now: they are shown only once.", "success"),
        recoveryCodesPanel(codes, me.email, app),
      );
      left.textContent = String(codes.length);
    },
  });
  const left = h("dd", { "data-testid": "recovery-codes-left", text: String(twoFactor.recoveryCodesRemaining) });
  put(main, 
    ...heading("My account"),
    subNav("My account", ACCOUNT_PAGES, "account"),
    h(
      "dl",
      { class: "summary" },
      summaryRow("Email", me.email),
      summaryRow("Name", me.displayName || "-"),
      summaryRow("Roles", roleList(me.roles)),
      summaryRow("Two-factor authentication", TWO_FACTOR_STATE[twoFactor.state], "own-2fa-state"),
      twoFactor.enrolled ? [h("dt", { text: "Recovery codes left" }), left] : null,
    ),
    twoFactor.state === "PENDING_ENROLLMENT"
      ? h("p", null, h("a", { href: "#/setup", class: "button", text: "Set up two-factor authentication" }))
      : null,
    twoFactor.enrolled
      ? h(
          "section",
          { class: "section", "aria-labelledby": "regenerate-heading" },
          h("h2", { id: "regenerate-heading", text: "New recovery codes" }),
          h("p", { text: "Used most of them, or think someone saw them? Enter a current code from your authenticator app to replace all your recovery codes." }),
          regenerate.element,
          regenerated,
        )
      : null,
  );
}
