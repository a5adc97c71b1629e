"""Reminders 72 h and 24 h before an enrollment deadline, written by a cron (the arq worker,
or the API process without Redis).

Each reminder goes once per user and deadline, however many crons run at once: its dedupe
key ``reminder-72:<user id>:<deadline>`` is unique, so a second writer's INSERT writes
nothing. Only users who still need it get one: active, 2FA enabled, no authenticator, the
domain's 2FA switch and its optional messages on. A user enabled after a reminder's time
(a 48 h grace period has no 72 h reminder) already read the deadline in the enablement
message, and a cron that was down does not send a 72 h reminder 10 hours before the end.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gql_portal.accounts.models import User
from gql_portal.clock import utcnow
from gql_portal.notifications.models import NotificationKind
from gql_portal.notifications.outbox import Recipient, enqueue_each
from gql_portal.sql import fetch

BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class Reminder:
    hours: int
    # The reminder is due from ``hours`` before the deadline until the next one is.
    until_hours: int

    def key(self, user_id: int, deadline: datetime) -> str:
        return f"reminder-{self.hours}:{user_id}:{deadline.isoformat()}"


REMINDERS = (Reminder(72, 24), Reminder(24, 0))

_DEADLINE = User._meta.fields_map["enrollment_deadline"]
_ENABLED_AT = User._meta.fields_map["two_factor_enabled_at"]
# Due users, in id order from a keyset position. The NOT EXISTS skips users this reminder
# already reached since their enablement (cheap reruns); the dedupe key stays the guarantee.
_DUE = (
    "SELECT u.id, u.domain_id, u.email, u.enrollment_deadline, u.two_factor_enabled_at"
    " FROM users u JOIN password_security_rules r ON r.domain_id = u.domain_id"
    " WHERE u.id > ? AND u.active = ? AND u.two_factor_enabled = ?"
    " AND u.enrollment_deadline > ? AND u.enrollment_deadline <= ?"
    " AND r.two_factor_enabled = ? AND r.optional_notifications_enabled = ?"
    " AND NOT EXISTS (SELECT 1 FROM totp_authenticators a WHERE a.user_id = u.id)"
    " AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.domain_id = u.domain_id"
    " AND n.user_id = u.id AND n.kind = ? AND n.dedupe_key LIKE ?"
    " AND n.created_at >= u.two_factor_enabled_at)"
    " ORDER BY u.id LIMIT ?"
)


def _due(reminder: Reminder, row: dict[str, Any]) -> tuple[datetime, bool]:
    deadline: datetime = _DEADLINE.to_python_value(row["enrollment_deadline"])
    enabled_at: datetime | None = _ENABLED_AT.to_python_value(row["two_factor_enabled_at"])
    starts = deadline - timedelta(hours=reminder.hours)
    return deadline, enabled_at is None or enabled_at < starts


async def send_reminder(
    reminder: Reminder, *, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> int:
    """One reminder to every user due for it: a SELECT and an INSERT per batch."""
    now = now or utcnow()
    connection = User._meta.db
    position, written = 0, 0
    while True:
        rows = await fetch(
            connection,
            _DUE,
            [
                position,
                True,
                True,
                now + timedelta(hours=reminder.until_hours),
                now + timedelta(hours=reminder.hours),
                True,
                True,
                NotificationKind.ENROLLMENT_REMINDER.value,
                f"reminder-{reminder.hours}:%",
                batch_size,
            ],
        )
        items = []
        for row in rows:
            deadline, due = _due(reminder, row)
            if due:
                params = {"deadline": deadline.isoformat(), "hours": reminder.hours}
                items.append(
                    Recipient(
                        domain_id=int(row["domain_id"]),
                        user_id=int(row["id"]),
                        recipient=row["email"],
                        params=params,
                        dedupe_key=reminder.key(int(row["id"]), deadline),
                    )
                )
        written += await enqueue_each(
            NotificationKind.ENROLLMENT_REMINDER, items=items, using_db=connection
        )
        if len(rows) < batch_size:
            return written
        position = int(rows[-1]["id"])


async def send_enrollment_reminders(*, now: datetime | None = None) -> int:
    """Every reminder due now; returns how many were written."""
    now = now or utcnow()
    return sum([await send_reminder(reminder, now=now) for reminder in REMINDERS])
