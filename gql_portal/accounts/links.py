"""Single-use account links: an invitation (72 h) or a password reset (30 min).

A token is 256 random bits and only its SHA-256 is stored. The raw token leaves in one
place, the link's notification, encrypted with gql_portal.crypto until the delivery has
sent the message and erased it; the link is a URL fragment, so no server log holds it. A
new link of a purpose supersedes the user's unused older ones (their expiry moves to now):
only the newest mail works. Use is one conditional UPDATE (unused and unexpired), so of
two concurrent uses exactly one wins, on both databases.
"""

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from gql_portal.accounts.models import AccountLink, AccountLinkPurpose, PasswordSecurityRules, User
from gql_portal.clock import utcnow
from gql_portal.crypto import encrypt_secret
from gql_portal.notifications import outbox
from gql_portal.notifications.models import NotificationKind
from gql_portal.sql import aliased_columns, execute, fetch, from_row, in_ids, json_records

LIFETIMES = {
    AccountLinkPurpose.INVITATION: timedelta(hours=72),
    AccountLinkPurpose.PASSWORD_RESET: timedelta(minutes=30),
}
KINDS = {
    AccountLinkPurpose.INVITATION: NotificationKind.INVITATION,
    AccountLinkPurpose.PASSWORD_RESET: NotificationKind.PASSWORD_RESET,
}
MAX_TOKEN_LENGTH = 100
# Recipients per round of statements: the supersede UPDATE binds one parameter per user on
# SQLite, far below its limit; the links go as one JSON parameter.
STATEMENT_ROWS = 1000
_EXPIRES_AT = AccountLink._meta.fields_map["expires_at"]
_LINK = (("user_id", "int"), ("token_hash", "text"))


def hash_link_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class LinkRecipient:
    """Who a link is mailed to: the columns of their user row the message needs."""

    user_id: int
    domain_id: int
    email: str
    display_name: str


async def create_links(
    recipients: Sequence[LinkRecipient],
    purpose: AccountLinkPurpose,
    *,
    using_db: BaseDBAsyncClient,
    job_id: UUID | None = None,
) -> int:
    """A new link for each recipient and its notification, in the caller's transaction:
    three statements per ``STATEMENT_ROWS`` recipients (supersede, links, notifications)."""
    now = utcnow()
    expires_at = now + LIFETIMES[purpose]
    for start in range(0, len(recipients), STATEMENT_ROWS):
        chunk = recipients[start : start + STATEMENT_ROWS]
        tokens = [secrets.token_urlsafe(32) for _ in chunk]
        await _supersede(using_db, [r.user_id for r in chunk], purpose, now)
        await _insert_links(using_db, chunk, tokens, purpose, now, expires_at)
        await outbox.enqueue_each(
            KINDS[purpose],
            items=[
                outbox.Recipient(r.domain_id, r.user_id, r.email, link_params(r, token, expires_at))
                for r, token in zip(chunk, tokens, strict=True)
            ],
            using_db=using_db,
            job_id=job_id,
        )
    return len(recipients)


def link_params(recipient: LinkRecipient, token: str, expires_at: datetime) -> dict[str, Any]:
    # "token" is the one secret a notification may hold; the delivery erases it once SENT.
    return {
        "token": encrypt_secret(token),
        "expiresAt": expires_at.isoformat(),
        "displayName": recipient.display_name,
    }


async def _supersede(
    connection: BaseDBAsyncClient, user_ids: list[int], purpose: AccountLinkPurpose, now: datetime
) -> None:
    users, values = in_ids(connection, "user_id", user_ids)
    await execute(
        connection,
        f"UPDATE account_links SET expires_at = ? WHERE {users}"
        " AND purpose = ? AND used_at IS NULL AND expires_at > ?",
        [now, *values, purpose.value, now],
    )


async def _insert_links(
    connection: BaseDBAsyncClient,
    recipients: Sequence[LinkRecipient],
    tokens: list[str],
    purpose: AccountLinkPurpose,
    now: datetime,
    expires_at: datetime,
) -> None:
    """One INSERT ... SELECT: the users and token hashes one JSON parameter, the rest
    constants."""
    records = [
        {"user_id": recipient.user_id, "token_hash": hash_link_token(token)}
        for recipient, token in zip(recipients, tokens, strict=True)
    ]
    await execute(
        connection,
        "INSERT INTO account_links (user_id, purpose, token_hash, created_at, expires_at)"
        f" SELECT r.user_id, ?, r.token_hash, ?, ? FROM {json_records(connection, _LINK)}",
        [purpose.value, now, expires_at, json.dumps(records)],
    )


async def invite_users(
    user_ids: Sequence[int], *, using_db: BaseDBAsyncClient, job_id: UUID | None = None
) -> int:
    """Invite those of ``user_ids`` who are active and have no password yet (imports, SCIM,
    createUser without a password): one SELECT, then ``create_links``. The number invited."""
    invited: list[LinkRecipient] = []
    for start in range(0, len(user_ids), STATEMENT_ROWS):
        users, values = in_ids(using_db, "id", list(user_ids[start : start + STATEMENT_ROWS]))
        rows = await fetch(
            using_db,
            f"SELECT id, domain_id, email, display_name FROM users WHERE {users}"
            " AND active AND password_hash = '' ORDER BY id",
            values,
        )
        invited += [
            LinkRecipient(row["id"], row["domain_id"], row["email"], row["display_name"])
            for row in rows
        ]
    return await create_links(
        invited, AccountLinkPurpose.INVITATION, using_db=using_db, job_id=job_id
    )


@dataclass(frozen=True, slots=True)
class UsableLink:
    """A link that is unused and unexpired now, of an active user, with the domain's rules."""

    id: int
    purpose: AccountLinkPurpose
    expires_at: datetime
    user: User
    rules: PasswordSecurityRules


@lru_cache(maxsize=1)
def _usable_sql() -> str:
    return (
        'SELECT l."id" "link_id", l."purpose" "purpose", l."expires_at" "expires_at",'
        f"{aliased_columns(User, 'u')},"
        f"{aliased_columns(PasswordSecurityRules, 'r')}"
        f' FROM "{AccountLink._meta.db_table}" l'
        f' JOIN "{User._meta.db_table}" u ON u."id" = l."user_id"'
        f' JOIN "{PasswordSecurityRules._meta.db_table}" r ON r."domain_id" = u."domain_id"'
        ' WHERE l."token_hash" = ? AND l."used_at" IS NULL AND l."expires_at" > ?'
        ' AND u."active"'
    )


async def find_usable_link(token: str) -> UsableLink | None:
    """The link behind ``token`` if it may be used now (one statement), else None: unknown,
    used, expired, superseded and a deactivated user's link all look the same."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    rows = await fetch(AccountLink._meta.db, _usable_sql(), [hash_link_token(token), utcnow()])
    if not rows:
        return None
    row = rows[0]
    return UsableLink(
        id=row["link_id"],
        purpose=AccountLinkPurpose(row["purpose"]),
        expires_at=_EXPIRES_AT.to_python_value(row["expires_at"]),
        user=from_row(User, row, "u"),
        rules=from_row(PasswordSecurityRules, row, "r"),
    )


async def consume_link(link_id: int, *, using_db: BaseDBAsyncClient) -> bool:
    """Mark the link used; False if it was used, superseded or expired since it was read."""
    now = utcnow()
    used = await execute(
        using_db,
        "UPDATE account_links SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?",
        [now, link_id, now],
    )
    return used == 1


async def expire_user_links(user_id: int, *, using_db: BaseDBAsyncClient) -> None:
    """Once a password is set, no other mailed link of the user works any more."""
    now = utcnow()
    await execute(
        using_db,
        "UPDATE account_links SET expires_at = ?"
        " WHERE user_id = ? AND used_at IS NULL AND expires_at > ?",
        [now, user_id, now],
    )
