// Set up two-factor authentication: QR code, manual key, Code, Verify; then the 10 recovery
// codes, which are shown only this once.

import { run } from "../api.js";
import { formatTime, h, put, replace } from "../dom.js";
import { banner, checkCode, cleanCode, codeField, form, heading } from "../forms.js";
import { recoveryCodesPanel, savedCodesAcknowledgement } from "../recovery-codes.js";

function groupedKey(secret) {
  return secret.replace(/(.{4})/g, "$1 ").trim();
}

export async function render(main, app) {
  const me = app.session.me;
  const deadline = me.twoFactor.enrollmentDeadline;
  const enrollment = (await run("begin-enrollment")).beginTotpEnrollment;
  const code = codeField();
  const verifyForm = form({
    fields: { code },
    submit: "Verify",
    async onSubmit({ showErrors, showApiError }) {
      const problem = checkCode(code);
      if (problem) {
        showErrors([["code", problem]]);
        return;
      }
      let payload;
      try {
        payload = (await run("confirm-enrollment", { code: cleanCode(code.input.value) })).confirmTotpEnrollment;
      } catch (error) {
        showApiError(error);
        return;
      }
      showRecoveryCodes(payload.recoveryCodes || []);
    },
  });
  const showRecoveryCodes = (codes) => {
    replace(main, 
      ...heading("Save your recovery codes"),
      banner("Two-factor authentication is set up.", "success"),
      h("p", {
        class: "lead",
        text: "If you lose your phone, each of these codes lets you sign in once. They are shown only now: download or copy them and keep them somewhere safe.",
      }),
      recoveryCodesPanel(codes, me.email, app),
      savedCodesAcknowledgement(() => app.refresh("Two-factor authentication is on for your account.")),
    );
    main.querySelector("h1").focus();
    app.announce("Two-factor authentication is set up. Save your recovery codes.");
  };
  put(main, 
    ...heading("Set up two-factor authentication"),
    deadline
      ? banner(`You must set up two-factor authentication by ${formatTime(deadline)}. After that you cannot sign in without it.`, "warning")
      : null,
    h("ol", { class: "steps" },
      h("li", null, "Open Google Authenticator (or another authenticator app) on your phone."),
      h("li", null, "Scan the QR code with the app."),
      h("li", null, "Enter the 6-digit code the app shows, then select Verify."),
    ),
    h("img", {
      class: "qr",
      src: enrollment.qrCodePng,
      width: "220",
      height: "220",
      alt: `QR code to add ${me.email} to your authenticator app`,
    }),
    h(
      "details",
      { class: "details" },
      h("summary", { class: "details__summary" }, "Can't scan the code?"),
      h(
        "div",
        { class: "details__text" },
        h("p", null, `In the app, choose to enter a setup key. Account: ${me.email}. Key (time based):`),
        h("p", { class: "code-text key", "data-testid": "manual-key", text: groupedKey(enrollment.secret) }),
      ),
    ),
    verifyForm.element,
    deadline ? h("p", null, h("a", { href: "#/account", text: "Set up later" })) : null,
  );
}
