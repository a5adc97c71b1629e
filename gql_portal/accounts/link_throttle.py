"""Fixed-window limits of the account-link paths, counted in the database (every process).

Three counters share one table: password-reset requests per email and per client IP, and
bad link tokens per client IP. A row is keyed by ``crypto.keyed_identifier`` of
``"<scope>:<value>"``: what is typed into the email field may be a password, so the text is
never stored. As in ip_throttle.py, one conditional upsert counts up front: a row at its
limit is not updated and returns nothing, so concurrent requests never get past the limit.
"""

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from gql_portal.accounts.models import LinkThrottle
from gql_portal.clock import utcnow
from gql_portal.crypto import keyed_identifier
from gql_portal.sql import execute, fetch

PURGE_BATCH = 1000
_EXPIRES_AT = LinkThrottle._meta.fields_map["expires_at"]


class LinkScope(StrEnum):
    RESET_EMAIL = "reset-email"
    RESET_IP = "reset-ip"
    BAD_TOKEN_IP = "bad-token-ip"


@dataclass(frozen=True, slots=True)
class WindowLimit:
    limit: int
    window: timedelta


LIMITS = {
    # A reset mail is a mail to someone's inbox: a few an hour, whoever asks.
    LinkScope.RESET_EMAIL: WindowLimit(3, timedelta(hours=1)),
    LinkScope.RESET_IP: WindowLimit(30, timedelta(hours=1)),
    # Link tokens are 256-bit, so guessing is hopeless; the limit stops a scan outright.
    LinkScope.BAD_TOKEN_IP: WindowLimit(10, timedelta(minutes=15)),
}

_COUNT_SQL = (
    "INSERT INTO link_throttles AS t (key, count, expires_at) VALUES (?, 1, ?)"
    " ON CONFLICT (key) DO UPDATE SET"
    " count = CASE WHEN t.expires_at <= ? THEN 1 ELSE t.count + 1 END,"
    " expires_at = CASE WHEN t.expires_at <= ? THEN excluded.expires_at ELSE t.expires_at END"
    " WHERE t.expires_at <= ? OR t.count < ?"
    " RETURNING count"
)


def _key(scope: LinkScope, value: str) -> str:
    return keyed_identifier(f"{scope.value}:{value}")


async def count_in_window(scope: LinkScope, value: str | None) -> int | None:
    """Count one for ``value`` in ``scope``: None if within the limit, else the seconds
    until the window ends (``retryAfter``). No value (an IP from the CLI) is not limited."""
    if value is None:
        return None
    rule = LIMITS[scope]
    key = _key(scope, value)
    now = utcnow()
    connection = LinkThrottle._meta.db
    counted = await fetch(
        connection, _COUNT_SQL, [key, now + rule.window, now, now, now, rule.limit]
    )
    if counted:
        return None
    rows = await fetch(connection, "SELECT expires_at FROM link_throttles WHERE key = ?", [key])
    expires_at = _EXPIRES_AT.to_python_value(rows[0]["expires_at"]) if rows else None
    if expires_at is None or expires_at <= now:
        return 1
    return max(1, int((expires_at - now).total_seconds()) + 1)


async def give_back(scope: LinkScope, value: str | None) -> None:
    """What was counted up front was not a failure after all (the token was good)."""
    if value is None:
        return
    await execute(
        LinkThrottle._meta.db,
        "UPDATE link_throttles SET count = count - 1 WHERE key = ? AND count > 0",
        [_key(scope, value)],
    )


async def purge_link_throttles(*, batch_size: int = PURGE_BATCH) -> int:
    """Delete the windows that ended, a batch per statement (short locks)."""
    now = utcnow()
    sql = (
        "DELETE FROM link_throttles WHERE key IN"
        " (SELECT key FROM link_throttles WHERE expires_at <= ? LIMIT ?) AND expires_at <= ?"
    )
    purged = 0
    while True:
        deleted = await execute(LinkThrottle._meta.db, sql, [now, batch_size, now])
        purged += deleted
        if deleted < batch_size:
            return purged
