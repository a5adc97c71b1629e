"""Rendering an outbox row: its subject, plain text and HTML, from the row alone (delivery
renders in batches and reads nothing else).

Every value that comes from a row (a name, an address, an error) is cleaned of control
characters and escaped for HTML; no secret, code or token ever reaches a row's params except
an invitation's or reset's link token, encrypted, which only the link shows.
"""

import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from string import Template
from typing import Any
from urllib.parse import quote

from gql_portal.crypto import decrypt_secret
from gql_portal.notifications.models import OPTIONAL_KINDS, Notification, NotificationKind
from gql_portal.notifications.templates import (
    OPTIONAL_FOOTER,
    SECURITY_FOOTER,
    TEMPLATES,
    MessageTemplate,
)
from gql_portal.settings import get_settings

K = NotificationKind
MAX_VALUE_LENGTH = 300
_SPACES = re.compile(r"\s+")

ENABLED_BY = {
    "admin": "An administrator",
    "bulk": "An administrator's bulk enablement",
    "import": "An administrator's import of users",
}
JOB_NAMES = {"ENABLE_TWO_FACTOR": "bulk enablement", "IMPORT_USERS": "import of users"}
JOB_OUTCOMES = {
    "SUCCEEDED": "finished",
    "FAILED": "failed",
    "CANCELLED": "was cancelled",
}


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


def public_url() -> str:
    """GQL_PORTAL_PUBLIC_URL without its trailing slash: every link of a message starts here."""
    return get_settings().public_url.rstrip("/")


def clean(value: Any) -> str:
    """One line of printable text: control characters (CR, LF, tabs, NUL...) become spaces."""
    text = "".join(
        " " if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") else char
        for char in str(value)
    )
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= MAX_VALUE_LENGTH else text[: MAX_VALUE_LENGTH - 1] + "…"


def when(value: Any) -> str | None:
    """An ISO time from params, in words: "Friday 4 December 2026, 14:00 UTC"."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return f"{moment:%A} {moment.day} {moment:%B %Y, %H:%M} UTC"


def _person(params: dict[str, Any], key: str) -> str:
    """An administrator as the message names them: "Ada Admin (ada@example.com)"."""
    name, email = params.get(f"{key}Name"), params.get(f"{key}Email")
    if name and email:
        return f"{name} ({email})"
    return str(name or email or "An administrator")


# The counts a summary shows, in the words of the job's screen (an import's skipped rows are
# unchanged users, its failed rows refused ones).
JOB_COUNTS = {
    "IMPORT_USERS": (
        ("processed", "processed"),
        ("created", "created"),
        ("updated", "updated"),
        ("skipped", "unchanged"),
        ("failed", "refused"),
    ),
    "ENABLE_TWO_FACTOR": (
        ("processed", "processed"),
        ("changed", "changed"),
        ("skipped", "skipped"),
        ("failed", "failed"),
    ),
}


def _job_counts(params: dict[str, Any]) -> str | None:
    names = JOB_COUNTS.get(str(params.get("jobKind")), JOB_COUNTS["ENABLE_TWO_FACTOR"])
    counts = [f"{params[key]} {word}" for key, word in names if params.get(key) is not None]
    return ", ".join(counts) or None


def _values(notification: Notification) -> tuple[dict[str, Any], dict[str, str]]:
    """The values and links a row's template names (None: that paragraph is left out)."""
    params = notification.params or {}
    kind = K(notification.kind)
    base = public_url()
    values: dict[str, Any] = {
        "account": notification.recipient,
        "at": when(params.get("at")) or when(notification.created_at),
        "ip": params.get("ip"),
        "by": _person(params, "by"),
    }
    links: dict[str, str] = {"signin": f"{base}/"}
    if kind is K.TWO_FACTOR_ENABLED:
        deadline = when(params.get("deadline"))
        values["who"] = ENABLED_BY.get(str(params.get("via")), ENABLED_BY["admin"])
        values["when"] = f"before {deadline}" if deadline else "the next time you sign in"
    elif kind is K.ENROLLMENT_REMINDER:
        values["deadline"] = when(params.get("deadline"))
        values["hours"] = params.get("hours")
    elif kind is K.RECOVERY_CODE_USED:
        values["remaining"] = params.get("remaining")
    elif kind is K.CODE_STEP_LOCKED:
        values["until"] = when(params.get("lockedUntil"))
    elif kind is K.JOB_FINISHED:
        values["job"] = JOB_NAMES.get(str(params.get("jobKind")), "bulk job")
        values["outcome"] = JOB_OUTCOMES.get(str(params.get("status")), "finished")
        values["started"] = when(params.get("startedAt")) or values["at"]
        values["counts"] = _job_counts(params)
        values["error"] = params.get("error")
        links["jobs"] = f"{base}/#/bulk"
    elif kind in (K.INVITATION, K.PASSWORD_RESET):
        values["name"] = params.get("displayName") or None
        values["expires"] = when(params.get("expiresAt"))
        token = params.get("token")
        if token:
            raw = decrypt_secret(str(token))
            links["link"] = f"{base}/#/set-password?token={quote(raw, safe='')}"
    return {key: clean(value) for key, value in values.items() if value is not None}, links


def _names(text: str) -> set[str]:
    return {
        match.group("named") or match.group("braced")
        for match in Template.pattern.finditer(text)
        if match.group("named") or match.group("braced")
    }


def _paragraphs(template: MessageTemplate, available: set[str]) -> list[str]:
    return [text for text in template.paragraphs if _names(text) <= available]


def _anchor(url: str) -> str:
    escaped = html.escape(url)
    return f'<a href="{escaped}">{escaped}</a>'


def render(notification: Notification) -> Rendered:
    kind = K(notification.kind)
    template = TEMPLATES[kind]
    values, links = _values(notification)
    paragraphs = _paragraphs(template, set(values) | set(links))
    paragraphs.append(OPTIONAL_FOOTER if kind in OPTIONAL_KINDS else SECURITY_FOOTER)
    text_values = {**values, **links}
    html_values = {
        **{key: html.escape(value) for key, value in values.items()},
        **{key: _anchor(url) for key, url in links.items()},
    }
    subject = clean(Template(template.subject).safe_substitute(values))
    subject = subject[:1].upper() + subject[1:]
    text = "\n\n".join(Template(p).substitute(text_values) for p in paragraphs) + "\n"
    body = "\n".join(
        f"<p>{Template(html.escape(p, quote=False)).substitute(html_values)}</p>"
        for p in paragraphs
    )
    document = (
        '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>\n<body>\n{body}\n</body>\n</html>\n"
    )
    return Rendered(subject=subject, text=text, html=document)
