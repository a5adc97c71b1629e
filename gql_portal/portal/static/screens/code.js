// The code prompt (status TOTP_REQUIRED): Code, Verify, "Use a recovery code", and the
// lock's countdown from TOO_MANY_ATTEMPTS' retryAfter.

import { run } from "../api.js";
import { field, formatDuration, h, input, replace } from "../dom.js";
import { checkCode, cleanCode, form, codeField, heading, lockCountdown } from "../forms.js";

export function render(main, app) {
  let stopCountdown = () => {};
  const draw = (mode) => {
    stopCountdown();
    const recovery = mode === "recovery";
    const entry = recovery
      ? field({
          label: "Recovery code",
          hint: "One of the codes you saved when you set up two-factor authentication, like abcd-efgh-jkmn-pqrs.",
          input: input({ name: "code", autocomplete: "off", spellcheck: "false", class: "input input--recovery" }),
        })
      : codeField();
    const timer = h("p", { class: "banner banner--warning", role: "timer", "aria-live": "off", hidden: true });
    const codeForm = form({
      fields: { code: entry },
      submit: "Verify",
      async onSubmit({ showErrors, showApiError }) {
        const value = recovery ? entry.input.value.trim() : cleanCode(entry.input.value);
        const problem = recovery ? (value ? null : "Enter a recovery code") : checkCode(entry);
        if (problem) {
          showErrors([["code", problem]]);
          return;
        }
        try {
          await (recovery ? run("verify-recovery-code", { code: value }) : run("verify-totp", { code: value }));
        } catch (error) {
          entry.input.value = "";
          if (error.code === "TOO_MANY_ATTEMPTS" && error.retryAfter) {
            // The countdown below says when; the summary only says what happened (one message).
            showErrors([[null, "Too many wrong codes."]]);
            lock(error.retryAfter);
          } else {
            showApiError(error);
          }
          return;
        }
        await app.refresh(recovery ? "You used a recovery code. It cannot be used again." : null);
      },
    });
    const lock = (seconds) => {
      codeForm.element.dataset.locked = "true";
      codeForm.submitButton.disabled = true;
      timer.hidden = false;
      stopCountdown = lockCountdown(seconds, {
        onTick: (left) => {
          timer.textContent = `Locked after too many wrong codes. You can try again in ${formatDuration(left)}.`;
        },
        onEnd: () => {
          delete codeForm.element.dataset.locked;
          codeForm.submitButton.disabled = false;
          timer.hidden = true;
          codeForm.clearErrors();
          app.announce("You can enter a code again.");
        },
      });
    };
    replace(main, 
      ...heading(recovery ? "Use a recovery code" : "Enter your code", "Two-factor authentication"),
      h("p", {
        class: "lead",
        text: recovery
          ? "Each recovery code works once."
          : "Open your authenticator app and enter the 6-digit code it shows for this account.",
      }),
      timer,
      codeForm.element,
      h(
        "p",
        null,
        h("a", {
          href: "#/code",
          text: recovery ? "Use a code from your authenticator app" : "Use a recovery code",
          on: {
            click: (event) => {
              event.preventDefault();
              draw(recovery ? "totp" : "recovery");
              main.querySelector("h1").focus();
            },
          },
        }),
      ),
    );
    const lockedUntil = app.session.me.twoFactor.lockedUntil;
    const seconds = lockedUntil ? Math.ceil((new Date(lockedUntil) - Date.now()) / 1000) : 0;
    if (!recovery && app.session.me.twoFactor.lockedPermanently) {
      codeForm.showErrors([[null, "Too many wrong codes: an administrator must reset your two-factor authentication. You can still use a recovery code."]]);
    } else if (!recovery && seconds > 0) {
      lock(seconds);
    }
  };
  draw("totp");
  return () => stopCountdown();
}
