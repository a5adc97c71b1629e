"""Password reset and Set password: what the two open mutations do with account links.

``request_password_reset`` tells nothing about the email. The request itself does the same
two statements for every email (the client IP's and the email's window counts: the email
is counted whether it names an account or not), then hands the email to a background task
that looks the accounts up and writes their links: the answer never waits for work that
depends on the accounts, so neither its content nor its timing tells whether, or in how
many domains, the email exists, or whether the account is deactivated.

Over the client IP's limit the request answers TOO_MANY_ATTEMPTS (it says nothing about the
email); over the email's limit it answers true and sends nothing, exactly like an unknown
email, so the limit cannot be used to probe either.
"""

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from tortoise.transactions import in_transaction

from gql_portal.accounts.link_throttle import LinkScope, count_in_window, give_back
from gql_portal.accounts.links import (
    LinkRecipient,
    UsableLink,
    consume_link,
    create_links,
    expire_user_links,
    find_usable_link,
)
from gql_portal.accounts.models import AccountLinkPurpose, User
from gql_portal.accounts.passwords import hash_password
from gql_portal.accounts.sessions import revoke_user_sessions
from gql_portal.accounts.throttle import clear_login_attempts
from gql_portal.accounts.validation import MAX_EMAIL_LENGTH, normalize_email, require_new_password
from gql_portal.audit.models import AuditAction
from gql_portal.audit.services import record_audit_event
from gql_portal.clock import utcnow
from gql_portal.errors import BadUserInputError, TooManyAttemptsError
from gql_portal.notifications import outbox
from gql_portal.notifications.models import NotificationKind
from gql_portal.request_meta import RequestMeta
from gql_portal.sql import execute

log = logging.getLogger(__name__)
# One message for an unknown, used, expired or superseded token and a deactivated user's.
BAD_LINK_MESSAGE = "This link has expired or was already used"

_background: set[asyncio.Task[None]] = set()


class BadLinkError(BadUserInputError):
    def __init__(self) -> None:
        super().__init__(BAD_LINK_MESSAGE, field="token")


async def request_password_reset(*, email: str, meta: RequestMeta) -> None:
    normalized = normalize_email(email)
    if not normalized:
        raise BadUserInputError("Email is required", field="email")
    if len(normalized) > MAX_EMAIL_LENGTH:
        raise BadUserInputError("Email is too long", field="email")
    retry_after = await count_in_window(LinkScope.RESET_IP, meta.ip)
    if retry_after is not None:
        raise TooManyAttemptsError(retry_after)
    if await count_in_window(LinkScope.RESET_EMAIL, normalized) is not None:
        return
    _in_background(_send_reset_links(normalized, meta))


def _in_background(work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.get_running_loop().create_task(work, name="password-reset")
    _background.add(task)  # a task only weakly referenced may be collected mid-run
    task.add_done_callback(_background.discard)


async def finish_password_resets() -> None:
    """Wait for the reset links still being written (shutdown, tests)."""
    while _background:
        await asyncio.gather(*_background, return_exceptions=True)


async def _send_reset_links(email_normalized: str, meta: RequestMeta) -> None:
    """A link for each active account the email names (one per domain), each in its own
    transaction with its event; a deactivated account gets an event and no link."""
    try:
        for user in await User.filter(email_normalized=email_normalized).order_by("id"):
            async with in_transaction() as connection:
                if user.active:
                    recipient = LinkRecipient(
                        user.id, user.domain_id, user.email, user.display_name
                    )
                    await create_links(
                        [recipient], AccountLinkPurpose.PASSWORD_RESET, using_db=connection
                    )
                await record_audit_event(
                    using_db=connection,
                    action=AuditAction.PASSWORD_RESET_REQUESTED,
                    meta=meta,
                    target=user,
                    details={"sent": user.active},
                )
    except Exception:  # nobody waits for this answer: the log is where it shows
        log.exception("password reset links could not be written (request %s)", meta.request_id)


async def read_link(*, token: str, meta: RequestMeta) -> UsableLink | None:
    """The link behind ``token`` for the Set password page, throttled as setPassword is."""
    retry_after = await count_in_window(LinkScope.BAD_TOKEN_IP, meta.ip)
    if retry_after is not None:
        raise TooManyAttemptsError(retry_after)
    link = await find_usable_link(token)
    if link is not None:
        await give_back(LinkScope.BAD_TOKEN_IP, meta.ip)
    return link


async def set_password_with_link(*, token: str, password: str, meta: RequestMeta) -> None:
    """Use an invitation or reset link: the client IP's bad tokens are counted up front
    (given back when the token is good), the domain's minimum length is checked before the
    link is used (a too-short password leaves it usable), then one transaction uses the
    link, sets the password, ends every other link and every session of the user, and
    writes PASSWORD_CHANGED (and, after a reset, its mail)."""
    link = await read_link(token=token, meta=meta)
    if link is None:
        raise BadLinkError()
    require_new_password(password, link.rules.min_password_length)
    password_hash = await hash_password(password)
    user = link.user
    now = utcnow()
    async with in_transaction() as connection:
        # Either may have changed while the password was hashed: a concurrent use of the
        # same link (one wins), or a deactivation. Raising rolls back what was written.
        if not await consume_link(link.id, using_db=connection):
            raise BadLinkError()
        changed = await execute(
            connection,
            "UPDATE users SET password_hash = ?, password_changed_at = ?, updated_at = ?"
            " WHERE id = ? AND active",
            [password_hash, now, now, user.id],
        )
        if changed != 1:
            raise BadLinkError()
        await expire_user_links(user.id, using_db=connection)
        await revoke_user_sessions(user.id, using_db=connection)
        if link.purpose is AccountLinkPurpose.PASSWORD_RESET:
            # A reset tells the owner their password changed (who asked may not be them);
            # an invitation's first password is no change.
            await outbox.enqueue(
                NotificationKind.PASSWORD_CHANGED,
                domain_id=user.domain_id,
                user_id=user.id,
                recipient=user.email,
                params={},
                using_db=connection,
            )
        await record_audit_event(
            using_db=connection,
            action=AuditAction.PASSWORD_CHANGED,
            meta=meta,
            actor=user,
            target=user,
            details={"via": "link", "purpose": link.purpose.value},
        )
    # The password throttle's lock of this email is about the old password.
    await clear_login_attempts(user.email_normalized)
