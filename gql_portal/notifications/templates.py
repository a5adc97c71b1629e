"""The words of every message (CONTRACT section 11), as ``string.Template`` text.

``$name`` is a value: rendering cleans it (no control character, so no CR/LF) and escapes
it for HTML; a link's ``$name`` becomes an anchor in HTML and the bare address in text. The
template text itself is trusted and escaped too, so nothing here can turn into markup.
A paragraph that names a value its message lacks is left out (``messages.render`` decides).
"""

from dataclasses import dataclass

from gql_portal.notifications.models import NotificationKind as K


@dataclass(frozen=True, slots=True)
class MessageTemplate:
    subject: str
    paragraphs: tuple[str, ...]


NOT_YOU = (
    "If this was not you, someone else may know your password: change it, and tell your "
    "administrator at once so they can reset your two-factor authentication."
)
ASK_ADMIN = "If you did not expect this, ask your administrator."

TEMPLATES: dict[K, MessageTemplate] = {
    K.TWO_FACTOR_ENABLED: MessageTemplate(
        "Two-factor authentication is now required for your account",
        (
            "$who turned on two-factor authentication for your account $account.",
            "Set up an authenticator app (such as Google Authenticator) $when: "
            "sign in at $signin and follow the steps.",
            ASK_ADMIN,
        ),
    ),
    K.ENROLLMENT_REMINDER: MessageTemplate(
        "Reminder: set up two-factor authentication before $deadline",
        (
            "Your account $account needs an authenticator app before $deadline, "
            "in less than $hours hours.",
            "Sign in at $signin and follow the steps; it takes a minute. After the deadline "
            "you will have to set it up before you can do anything else.",
        ),
    ),
    K.AUTHENTICATOR_ADDED: MessageTemplate(
        "An authenticator app was added to your account",
        (
            "An authenticator app was added to your account $account on $at.",
            "The request came from the IP address $ip.",
            "From now on, signing in asks for a code from it.",
            NOT_YOU,
        ),
    ),
    K.TWO_FACTOR_DISABLED: MessageTemplate(
        "Two-factor authentication was turned off for your account",
        (
            "$by turned off two-factor authentication for your account $account on $at. "
            "Signing in no longer asks for a code.",
            ASK_ADMIN,
        ),
    ),
    K.TWO_FACTOR_RESET: MessageTemplate(
        "Two-factor authentication was reset for your account",
        (
            "$by reset two-factor authentication for your account $account on $at: your "
            "authenticator app and recovery codes no longer work, and you were signed out.",
            "You will set up an authenticator app again the next time you sign in at $signin.",
            ASK_ADMIN,
        ),
    ),
    K.RECOVERY_CODE_USED: MessageTemplate(
        "A recovery code was used to sign in",
        (
            "A recovery code was used to sign in to your account $account on $at.",
            "The request came from the IP address $ip.",
            "Recovery codes left: $remaining. You can generate new ones under My account.",
            NOT_YOU,
        ),
    ),
    K.RECOVERY_CODES_REGENERATED: MessageTemplate(
        "New recovery codes were generated for your account",
        (
            "New recovery codes were generated for your account $account on $at. "
            "The previous codes no longer work.",
            NOT_YOU,
        ),
    ),
    K.CODE_STEP_LOCKED: MessageTemplate(
        "Too many wrong codes: sign-in is paused for your account",
        (
            "Too many wrong codes were entered for your account $account. "
            "No code is accepted until $until.",
            "Someone who knows your password may be trying to guess codes: if it was not "
            "you, change your password and tell your administrator at once.",
        ),
    ),
    K.PASSWORD_CHANGED: MessageTemplate(
        "Your password was changed",
        (
            "The password of your account $account was changed on $at.",
            "The request came from the IP address $ip.",
            "If this was not you, tell your administrator at once.",
        ),
    ),
    K.ACCOUNT_DEACTIVATED: MessageTemplate(
        "Your account was deactivated",
        (
            "$by deactivated your account $account on $at. You can no longer sign in.",
            "If you think this is a mistake, ask your administrator.",
        ),
    ),
    K.JOB_FINISHED: MessageTemplate(
        "$job $outcome",
        (
            "The $job you started on $started $outcome on $at.",
            "Users: $counts.",
            "It stopped with this error: $error",
            "Its details are in the portal: $jobs",
        ),
    ),
    K.INVITATION: MessageTemplate(
        "Your new account: choose a password",
        (
            "Hello $name,",
            "An account was created for you: $account. Choose your password with this link "
            "(it works once, until $expires):",
            "$link",
            "If you did not expect this, ignore this message.",
        ),
    ),
    K.PASSWORD_RESET: MessageTemplate(
        "Reset your password",
        (
            "Someone asked to reset the password of your account $account. Choose a new "
            "password with this link (it works once, until $expires):",
            "$link",
            "If this was not you, ignore this message: your password stays as it is.",
        ),
    ),
}

OPTIONAL_FOOTER = (
    "Your administrators may turn off reminders and job summaries in Password Security Rules."
)
SECURITY_FOOTER = (
    "We send this message whenever the security of your account changes; it cannot be turned off."
)
