"""Input rules shared by the API, the CLI and the worker."""

import re
import unicodedata

from gql_portal.accounts.passwords import MAX_PASSWORD_LENGTH
from gql_portal.errors import BadUserInputError

MAX_EMAIL_LENGTH = 320
MAX_DISPLAY_NAME_LENGTH = 200
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_DOMAIN_NAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


# Characters no name or address may hold: controls (NUL, CR, LF, ESC... they break CSV
# exports, mail headers and log lines, and PostgreSQL refuses NUL), unpaired surrogates,
# line and paragraph separators, and the bidirectional overrides that make a name read
# as another (U+202A-U+202E, U+2066-U+2069).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def has_control_characters(text: str) -> bool:
    return any(
        char in _BIDI_CONTROLS or unicodedata.category(char) in _REFUSED_CATEGORIES for char in text
    )


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _invisible(text: str) -> bool:
    """Format characters (Unicode Cf: zero-width space and joiners, the byte order mark,
    the soft hyphen, direction marks): nothing a reader sees, so an address holding one
    would be another account that looks exactly like an existing one."""
    return any(unicodedata.category(char) == "Cf" for char in text)


def require_email(email: str) -> str:
    """The normalised address, or BAD_USER_INPUT: one @, a dot in the part after it and no
    empty label there (no leading, trailing or doubled dot: `a@example.org.` would be a
    second account beside `a@example.org`), no whitespace, control or invisible character."""
    normalized = normalize_email(email)
    if not normalized:
        raise BadUserInputError("Email is required", field="email")
    if (
        len(normalized) > MAX_EMAIL_LENGTH
        or not _EMAIL.match(normalized)
        or has_control_characters(normalized)
        or _invisible(normalized)
        or "" in normalized.rpartition("@")[2].split(".")
    ):
        raise BadUserInputError("Email is not a valid address", field="email")
    return normalized


def require_login_input(email: str, password: str) -> str:
    normalized = normalize_email(email)
    if not normalized:
        raise BadUserInputError("Email is required", field="email")
    if len(normalized) > MAX_EMAIL_LENGTH:
        raise BadUserInputError("Email is too long", field="email")
    if not password:
        raise BadUserInputError("Password is required", field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadUserInputError(
            f"Password is longer than {MAX_PASSWORD_LENGTH} characters", field="password"
        )
    return normalized


def require_new_password(password: str, min_length: int) -> str:
    if len(password) < min_length:
        raise BadUserInputError(
            f"Password must have at least {min_length} characters", field="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadUserInputError(
            f"Password is longer than {MAX_PASSWORD_LENGTH} characters", field="password"
        )
    return password


def require_domain_name(name: str) -> str:
    normalized = name.strip().lower()
    if not _DOMAIN_NAME.match(normalized):
        raise BadUserInputError("Domain name must look like acme.example", field="name")
    return normalized


def require_display_name(name: str) -> str:
    cleaned = name.strip()
    if len(cleaned) > MAX_DISPLAY_NAME_LENGTH:
        raise BadUserInputError("Display name is too long", field="displayName")
    if has_control_characters(cleaned):
        raise BadUserInputError(
            "Display name holds control characters (line breaks, NUL, direction overrides...)",
            field="displayName",
        )
    return cleaned
