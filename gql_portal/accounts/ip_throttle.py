"""Failed logins per client IP in a fixed window, counted in the database (password spraying).

Like the email throttle, an attempt is counted up front by one conditional upsert, before
any hash: a row at the limit is not updated and returns nothing, so under concurrent
requests exactly the limit gets through, in every process. A login that succeeds gives its
count back: the limit is on failures, so a busy office behind one address is not locked out
by its own successful logins.
"""

from datetime import timedelta
from functools import lru_cache

from gql_portal.accounts.models import LoginIpThrottle
from gql_portal.clock import utcnow
from gql_portal.errors import TooManyAttemptsError
from gql_portal.settings import get_settings
from gql_portal.sql import execute, fetch

_EXPIRES_AT = LoginIpThrottle._meta.fields_map["expires_at"]


class IpLimitError(TooManyAttemptsError):
    """This client IP has failed too often in the current window."""


def _stored(ip: str) -> str:
    # A trusted proxy may forward anything as the client: PostgreSQL text refuses NUL.
    return ip.replace("\x00", "\ufffd")[:45]


@lru_cache(maxsize=1)
def _count_sql() -> str:
    # A window that has ended restarts at 1 with a new end; the limit is the last parameter.
    return (
        "INSERT INTO login_ip_throttles AS t (ip, failures, expires_at) VALUES (?, 1, ?)"
        " ON CONFLICT (ip) DO UPDATE SET"
        " failures = CASE WHEN t.expires_at <= ? THEN 1 ELSE t.failures + 1 END,"
        " expires_at = CASE WHEN t.expires_at <= ? THEN excluded.expires_at"
        " ELSE t.expires_at END"
        " WHERE t.expires_at <= ? OR t.failures < ?"
        " RETURNING failures"
    )


async def count_ip_failure(ip: str | None) -> None:
    """Count a failure for ``ip`` up front; raise ``IpLimitError`` when it is over the limit.

    No IP (the CLI, a worker) is not limited here: the email throttle still holds.
    """
    if ip is None:
        return
    ip = _stored(ip)
    settings = get_settings()
    now = utcnow()
    window_end = now + timedelta(minutes=settings.login_ip_window_minutes)
    connection = LoginIpThrottle._meta.db
    counted = await fetch(
        connection,
        _count_sql(),
        [ip, window_end, now, now, now, settings.login_ip_max_failures],
    )
    if counted:
        return
    rows = await fetch(connection, "SELECT expires_at FROM login_ip_throttles WHERE ip = ?", [ip])
    expires_at = _EXPIRES_AT.to_python_value(rows[0]["expires_at"]) if rows else None
    if expires_at is None or expires_at <= now:
        raise IpLimitError(1)
    raise IpLimitError(int((expires_at - now).total_seconds()) + 1)


async def give_back_ip_failure(ip: str | None) -> None:
    """The login succeeded: the failure counted up front was not one."""
    if ip is None:
        return
    await execute(
        LoginIpThrottle._meta.db,
        "UPDATE login_ip_throttles SET failures = failures - 1 WHERE ip = ? AND failures > 0",
        [_stored(ip)],
    )
