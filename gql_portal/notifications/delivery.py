"""Delivering the outbox: claim a batch of due rows under a lease, send each over one
transport session, and mark the batch in a few set-based statements.

- Claiming is one ``UPDATE ... RETURNING`` that sets ``claimed_until``: PostgreSQL locks
  the chosen rows ``FOR UPDATE SKIP LOCKED`` (two senders never claim the same row and never
  wait for each other); SQLite runs it in a ``BEGIN IMMEDIATE`` transaction, where the
  writer is alone. A sender that dies (SIGKILL) leaves its claim to expire: the rows are
  due again after ``MAIL_LEASE_SECONDS``, and a message the server got but the row never
  heard of goes out a second time with the same ``Message-ID``.
- A sender stops using its batch before its lease runs out (rows it did not reach are
  released, untouched), so a slow server never lets two senders hold the same row.
- Outcomes: SENT (``sent_at``; a link token is erased from the params), or one more
  attempt with an exponential back-off (``MAIL_RETRY_SECONDS`` doubling, capped at 1 h),
  ``FAILED`` once the row is 24 h old. A 5xx refusal of the recipient (RCPT TO: the
  address does not exist) fails the row at once: no retry would change that answer. A 5xx
  elsewhere (MAIL FROM, DATA, authentication) is about the server or our configuration and
  is retried like any other failure. A row that cannot be rendered or addressed fails at
  once too.
- ``MAIL_RATE`` is a token bucket per sender process: with N workers the whole rate is at
  most N times it.
"""

import asyncio
import contextlib
import email.policy
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from gql_portal import metrics
from gql_portal.clock import utcnow
from gql_portal.dependencies import fault_name, is_unavailable
from gql_portal.notifications.messages import Rendered, render
from gql_portal.notifications.models import Notification, NotificationStatus
from gql_portal.notifications.transport import (
    MailSession,
    Refused,
    Transport,
    TransportDown,
    envelope_sender,
    short_error,
    transport_for,
)
from gql_portal.settings import Settings
from gql_portal.sql import execute, fetch, in_ids, is_postgres

log = logging.getLogger("gql_portal.mail")

GIVE_UP_AFTER = timedelta(hours=24)
MAX_RETRY_DELAY = timedelta(hours=1)
# Share of the lease a batch may use; the rest is the margin for marking it.
LEASE_BUDGET = 0.8
IDLE_SECONDS = 1.0
MAX_OUTAGE_DELAY_SECONDS = 10.0
STOP_GRACE_SECONDS = 10.0

QUEUED = NotificationStatus.QUEUED.value
SENT = NotificationStatus.SENT.value
FAILED = NotificationStatus.FAILED.value


def retry_delay(settings: Settings, attempts: int) -> timedelta:
    """After the ``attempts``-th failed attempt (from 1)."""
    seconds = settings.mail_retry_seconds * 2 ** min(attempts - 1, 20)
    return min(MAX_RETRY_DELAY, timedelta(seconds=seconds))


def message_id(notification: Notification, settings: Settings) -> str:
    """Stable across redeliveries: a duplicate after a crash is recognisable."""
    host = envelope_sender(settings).rpartition("@")[2] or "localhost"
    return f"<notification-{notification.id}.{notification.domain_id}@{host}>"


class _CachedHeaderRegistry(HeaderRegistry):
    """The standard registry builds a new header class on every lookup (a third of the cost
    of building a message); the classes are the same each time, so each is built once."""

    @functools.cache  # noqa: B019 - one registry for the process's lifetime
    def __getitem__(self, name: str) -> type[BaseHeader]:
        return super().__getitem__(name)


# The default policy (CR/LF refused in every header), with the cached registry.
POLICY = email.policy.default.clone(header_factory=_CachedHeaderRegistry())


def build_message(
    notification: Notification, rendered: Rendered, settings: Settings, *, now: datetime
) -> EmailMessage:
    """The default policy refuses CR or LF in any header value, and the subject is folded
    to one line first: no name in the params can add a header or a recipient."""
    message = EmailMessage(policy=POLICY)
    message["From"] = settings.mail_from
    message["To"] = Address(addr_spec=notification.recipient)
    message["Subject"] = " ".join(rendered.subject.split())
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(notification, settings)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to it
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


class RateLimiter:
    """A token bucket: ``rate`` messages per second, bursts of one second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.updated = time.monotonic()

    async def take(self) -> None:
        if self.rate <= 0:
            return
        while True:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.rate)


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0


@dataclass
class _Outcomes:
    sent: list[int] = field(default_factory=list)
    # (attempts before, error, permanent) -> ids: one UPDATE per group.
    failures: dict[tuple[int, str, bool], list[int]] = field(
        default_factory=lambda: defaultdict(list)
    )
    released: list[int] = field(default_factory=list)

    def fail(self, row: Notification, error: str, *, permanent: bool) -> None:
        self.failures[(row.attempts, error, permanent)].append(row.id)


async def claim_batch(
    connection: BaseDBAsyncClient, *, now: datetime, limit: int, lease_seconds: float
) -> list[Notification]:
    """Due QUEUED rows, oldest first, claimed until ``now + lease``."""
    lock = " FOR UPDATE SKIP LOCKED" if is_postgres(connection) else ""
    rows = await fetch(
        connection,
        "UPDATE notifications SET claimed_until = ? WHERE id IN ("
        "SELECT id FROM notifications WHERE status = ? AND next_attempt_at <= ?"
        " AND (claimed_until IS NULL OR claimed_until < ?)"
        f" ORDER BY next_attempt_at, id LIMIT ?{lock}) RETURNING *",
        [now + timedelta(seconds=lease_seconds), QUEUED, now, now, limit],
    )
    claimed = [Notification._init_from_db(**row) for row in rows]
    claimed.sort(key=lambda row: row.id)
    return claimed


def _erase_token(connection: BaseDBAsyncClient) -> str:
    """A sent link's token has done its work: the row keeps no way to rebuild the link."""
    if is_postgres(connection):
        return "params = params - 'token'"
    return "params = json_remove(params, '$.token')"


async def _mark(
    connection: BaseDBAsyncClient,
    outcomes: _Outcomes,
    settings: Settings,
    now: datetime,
    created: dict[int, datetime],
) -> tuple[int, int]:
    """The batch's outcomes in one statement per kind of outcome; ``status = QUEUED`` in
    each keeps a row that someone else settled (after a lost lease) as it is."""
    if outcomes.sent:
        where, values = in_ids(connection, "id", outcomes.sent)
        await execute(
            connection,
            f"UPDATE notifications SET status = ?, sent_at = ?, claimed_until = NULL,"
            f" attempts = attempts + 1, {_erase_token(connection)} WHERE {where} AND status = ?",
            [SENT, now, *values, QUEUED],
        )
    retried = failed = 0
    for (attempts, error, permanent), ids in outcomes.failures.items():
        # Grouped further by whether the row is old enough to give up on.
        expired = [i for i in ids if permanent or now - created[i] >= GIVE_UP_AFTER]
        retrying = [i for i in ids if i not in set(expired)]
        next_attempt = now + retry_delay(settings, attempts + 1)
        for status, group in ((FAILED, expired), (QUEUED, retrying)):
            if not group:
                continue
            where, values = in_ids(connection, "id", group)
            await execute(
                connection,
                "UPDATE notifications SET status = ?, attempts = attempts + 1, last_error = ?,"
                f" next_attempt_at = ?, claimed_until = NULL WHERE {where} AND status = ?",
                [status, error, next_attempt, *values, QUEUED],
            )
        failed += len(expired)
        retried += len(retrying)
    if outcomes.released:
        where, values = in_ids(connection, "id", outcomes.released)
        await execute(
            connection,
            f"UPDATE notifications SET claimed_until = NULL WHERE {where} AND status = ?",
            [*values, QUEUED],
        )
    return retried, failed


async def _settle(
    sending: asyncio.Task[None], row: Notification, outcomes: _Outcomes
) -> str | None:
    """The outcome of one send; the server's error when the connection is gone."""
    try:
        await sending
    except Refused as error:
        log.warning("notification %d refused: %s", row.id, error)
        outcomes.fail(row, str(error), permanent=error.permanent)
    except TransportDown as error:
        log.warning("notification %d not sent, the mail server is down: %s", row.id, error)
        return str(error)
    else:
        outcomes.sent.append(row.id)
    return None


async def _send_all(
    rows: list[Notification],
    session: MailSession,
    outcomes: _Outcomes,
    *,
    settings: Settings,
    limiter: RateLimiter,
    renderer: Callable[[Notification], Rendered],
    deadline: float,
) -> None:
    """One message on the wire at a time; the next one is rendered and built while the
    server answers the previous one."""
    in_flight: tuple[Notification, asyncio.Task[None]] | None = None
    try:
        for index, row in enumerate(rows):
            if time.monotonic() >= deadline:
                outcomes.released.extend(other.id for other in rows[index:])
                break
            try:
                message = build_message(row, renderer(row), settings, now=utcnow())
            except Exception as error:  # a row that can never become a message
                log.warning("notification %d cannot be sent: %s", row.id, short_error(error))
                outcomes.fail(row, f"not sendable: {short_error(error)}", permanent=True)
                continue
            await limiter.take()
            if in_flight is not None:
                previous, sending = in_flight
                in_flight = None
                down = await _settle(sending, previous, outcomes)
                if down is not None:  # that one and the rest would fail the same way
                    for other in [previous, *rows[index:]]:
                        outcomes.fail(other, down, permanent=False)
                    return
            in_flight = (row, asyncio.create_task(session.send(message, row.recipient)))
        if in_flight is not None:
            last, sending = in_flight
            in_flight = None
            down = await _settle(sending, last, outcomes)
            if down is not None:
                outcomes.fail(last, down, permanent=False)
    finally:
        if in_flight is not None:  # cancelled (the sender stops): the lease brings it back
            in_flight[1].cancel()


async def deliver_batch(
    transport: Transport,
    settings: Settings,
    limiter: RateLimiter,
    *,
    renderer: Callable[[Notification], Rendered] = render,
) -> BatchResult:
    """One batch: claim, send, mark. Answers what happened (claimed 0: nothing was due)."""
    started = time.monotonic()
    async with in_transaction() as connection:
        rows = await claim_batch(
            connection,
            now=utcnow(),
            limit=settings.mail_batch_size,
            lease_seconds=settings.mail_lease_seconds,
        )
    if not rows:
        return BatchResult()
    outcomes = _Outcomes()
    deadline = started + settings.mail_lease_seconds * LEASE_BUDGET
    try:
        async with transport.session() as session:
            await _send_all(
                rows,
                session,
                outcomes,
                settings=settings,
                limiter=limiter,
                renderer=renderer,
                deadline=deadline,
            )
    except TransportDown as error:  # could not even connect
        log.warning("mail server %s is down: %s", transport.describe(), error)
        for row in rows:
            outcomes.fail(row, str(error), permanent=False)
    created = {row.id: row.created_at for row in rows}
    async with in_transaction() as connection:
        retried, failed = await _mark(connection, outcomes, settings, utcnow(), created)
    result = BatchResult(
        claimed=len(rows),
        sent=len(outcomes.sent),
        retried=retried,
        failed=failed,
        released=len(outcomes.released),
    )
    metrics.NOTIFICATIONS_SENT.inc(result.sent)
    metrics.NOTIFICATIONS_RETRIED.inc(result.retried)
    metrics.NOTIFICATIONS_FAILED.inc(result.failed)
    log.info(
        "mail batch via %s: %d sent, %d retrying, %d failed, %d released in %.2fs",
        transport.describe(),
        result.sent,
        result.retried,
        result.failed,
        result.released,
        time.monotonic() - started,
    )
    return result


async def backlog(connection: BaseDBAsyncClient) -> tuple[int, float]:
    """Queued rows, and the age in seconds of the oldest one that is due (0 when none is):
    how far delivery is behind."""
    now = utcnow()
    rows = await fetch(
        connection,
        "SELECT COUNT(*) AS queued, MIN(CASE WHEN next_attempt_at <= ? THEN created_at END)"
        " AS oldest FROM notifications WHERE status = ?",
        [now, QUEUED],
    )
    queued = int(rows[0]["queued"] or 0)
    oldest = rows[0]["oldest"]
    if oldest is None:
        return queued, 0.0
    if isinstance(oldest, str):  # SQLite keeps text
        oldest = datetime.fromisoformat(oldest)
    return queued, max(0.0, (now - oldest).total_seconds())


async def refresh_backlog_gauges() -> None:
    """For each scrape of ``/metrics`` (one statement)."""
    queued, age = await backlog(connections.get("default"))
    metrics.NOTIFICATIONS_QUEUED.set(queued)
    metrics.NOTIFICATIONS_BACKLOG_AGE.set(age)


class MailDelivery:
    """The sender loop: batches while rows are due, a short sleep when none is. The arq
    worker runs one per process; without Redis the API process runs it. Outages of the
    database are waited out with a capped back-off (one line each), never fatal."""

    def __init__(self, settings: Settings, transport: Transport | None = None) -> None:
        self.settings = settings
        self.transport = transport or transport_for(settings)
        self.limiter = RateLimiter(settings.mail_rate)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name="mail-delivery")
            log.info("mail delivery started: %s", self.transport.describe())

    async def stop(self) -> None:
        """Lets the batch in flight finish and mark its rows (a cancelled batch would only
        be sent again once its lease ran out), then ends."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_GRACE_SECONDS)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                result = await deliver_batch(self.transport, self.settings, self.limiter)
            except Exception as error:
                failures += 1
                delay = min(MAX_OUTAGE_DELAY_SECONDS, 0.5 * 2 ** min(failures - 1, 10))
                if is_unavailable(error):
                    log.warning(
                        "mail delivery paused: %s; retrying in %.1fs", fault_name(error), delay
                    )
                else:
                    log.exception("mail delivery failed; retrying in %.1fs", delay)
                await self._sleep(delay)
                continue
            failures = 0
            if result.claimed < self.settings.mail_batch_size or result.retried:
                await self._sleep(IDLE_SECONDS)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
