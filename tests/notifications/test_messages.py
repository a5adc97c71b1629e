"""Rendering: every kind renders, names are escaped and cleaned, nothing secret shows."""

import re
from datetime import UTC, datetime
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import pytest

from gql_portal.crypto import encrypt_secret
from gql_portal.notifications.messages import public_url, render
from gql_portal.notifications.models import OPTIONAL_KINDS, Notification, NotificationKind

K = NotificationKind
HOSTILE = '<script>alert("x")</script>\r\nBcc: victim@example.com'
RAW_TOKEN = "Z" * 43

# Everything a params dict of any kind may hold, hostile where text is free.
PARAMS: dict[str, Any] = {
    "deadline": "2026-12-05T14:00:00+00:00",
    "via": "bulk",
    "byName": HOSTILE,
    "byEmail": "admin@example.com",
    "ip": "203.0.113.7",
    "remaining": 3,
    "lockedUntil": "2026-12-02T05:00:00+00:00",
    "hours": 72,
    "jobKind": "ENABLE_TWO_FACTOR",
    "status": "FAILED",
    "error": HOSTILE,
    "processed": 10,
    "changed": 8,
    "skipped": 2,
    "failed": 0,
    "displayName": HOSTILE,
    "expiresAt": "2026-12-05T04:00:00+00:00",
}


def _row(kind: NotificationKind, **params: Any) -> Notification:
    values = {**PARAMS, **params}
    if kind in (K.INVITATION, K.PASSWORD_RESET):
        values["token"] = encrypt_secret(RAW_TOKEN)
    return Notification(
        kind=kind.value,
        recipient="user@example.com",
        params=values,
        created_at=datetime(2026, 12, 2, 4, 30, tzinfo=UTC),
    )


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_every_kind_renders_with_names_escaped_and_no_line_breaks_in_headers(
    kind: NotificationKind,
) -> None:
    rendered = render(_row(kind))
    assert rendered.subject and "\n" not in rendered.subject and "\r" not in rendered.subject
    parser = _Tags()
    parser.feed(rendered.html)
    assert "script" not in parser.tags
    assert set(parser.tags) <= {"html", "head", "meta", "title", "body", "p", "a"}
    assert "<script>" not in rendered.html
    for body in (rendered.text, rendered.html):
        assert "\r" not in body and "\nBcc:" not in body
    # A From/To/Subject built from it is accepted by the default policy (no injection).
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    assert message.as_bytes()


def test_an_administrators_name_is_shown_escaped_and_on_one_line() -> None:
    rendered = render(_row(K.TWO_FACTOR_RESET))
    assert '<script>alert("x")</script> Bcc: victim@example.com (admin@example.com) reset' in (
        rendered.text
    )
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Bcc:" in rendered.html


def test_the_enablement_names_its_deadline_or_the_next_sign_in() -> None:
    with_deadline = render(_row(K.TWO_FACTOR_ENABLED))
    assert "before Saturday 5 December 2026, 14:00 UTC" in with_deadline.text
    without = render(_row(K.TWO_FACTOR_ENABLED, deadline=None, via="admin"))
    assert "the next time you sign in" in without.text
    assert without.text.startswith("An administrator turned on")


def test_links_point_at_the_public_url_and_only_invitations_carry_a_token() -> None:
    base = public_url()
    for kind in NotificationKind:
        rendered = render(_row(kind))
        if kind in (K.INVITATION, K.PASSWORD_RESET):
            link = f"{base}/#/set-password?token={RAW_TOKEN}"
            assert link in rendered.text
            assert f'<a href="{link}">' in rendered.html
        else:
            assert RAW_TOKEN not in rendered.text


def test_optional_kinds_say_they_may_be_turned_off_security_kinds_that_they_cannot() -> None:
    for kind in NotificationKind:
        text = render(_row(kind)).text
        if kind in OPTIONAL_KINDS:
            assert "may turn off reminders and job summaries" in text
        else:
            assert "cannot be turned off" in text


def test_the_recovery_code_message_says_how_many_are_left() -> None:
    assert "Recovery codes left: 3." in render(_row(K.RECOVERY_CODE_USED)).text


def test_an_erased_link_token_renders_without_a_link() -> None:
    row = _row(K.INVITATION)
    row.params = {key: value for key, value in row.params.items() if key != "token"}
    text = render(row).text
    assert "set-password" not in text


def test_job_summaries_name_the_counts_and_the_error() -> None:
    text = render(_row(K.JOB_FINISHED)).text
    assert render(_row(K.JOB_FINISHED)).subject == "Bulk enablement failed"
    assert "10 processed, 8 changed, 2 skipped, 0 failed" in text
    assert re.search(r"It stopped with this error: <script>", text)
    imported = render(
        _row(K.JOB_FINISHED, jobKind="IMPORT_USERS", status="SUCCEEDED", created=4, updated=1)
    )
    assert imported.subject == "Import of users finished"
    assert "10 processed, 4 created, 1 updated, 2 unchanged, 0 refused" in imported.text
