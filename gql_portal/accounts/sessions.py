"""Opaque bearer tokens, stored only as SHA-256 hashes."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from gql_portal.accounts.models import PasswordSecurityRules, Session, User
from gql_portal.clock import utcnow
from gql_portal.errors import TwoFactorRequiredError, UnauthenticatedError
from gql_portal.request_meta import RequestMeta
from gql_portal.settings import get_settings
from gql_portal.sql import aliased_columns, execute, fetch, from_row
from gql_portal.two_factor.gate import LoginStatus, session_status
from gql_portal.two_factor.models import TotpAuthenticator

TOKEN_PREFIX = "gqlp_"
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(slots=True)
class Viewer:
    session: Session
    user: User
    rules: PasswordSecurityRules
    enrolled: bool
    status: LoginStatus
    now: datetime

    @property
    def authenticated(self) -> bool:
        return self.status is LoginStatus.AUTHENTICATED


def require_authenticated(viewer: Viewer) -> Viewer:
    """The pending-token gate (CONTRACT 3.2), the one check every path calls (GraphQL
    fields, the export, the subscription at start and at every poll): a session that has
    not passed its second-factor step answers TWO_FACTOR_REQUIRED with the step it owes."""
    if not viewer.authenticated:
        raise TwoFactorRequiredError(status=viewer.status.value)
    return viewer


@dataclass(frozen=True, slots=True)
class IssuedSession:
    token: str
    session: Session


async def issue_session(
    *,
    user: User,
    meta: RequestMeta,
    pending: bool,
    second_factor: bool = False,
    using_db: BaseDBAsyncClient | None = None,
) -> IssuedSession:
    settings = get_settings()
    now = utcnow()
    lifetime = (
        timedelta(minutes=settings.pending_session_minutes)
        if pending
        else timedelta(hours=settings.session_lifetime_hours)
    )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    columns: dict[str, Any] = {
        "token_hash": hash_token(token),
        "user_id": user.id,
        "issued_pending": pending,
        "second_factor_at": now if second_factor else None,
        "created_at": now,
        "last_seen_at": now,
        "expires_at": now + lifetime,
        "ip": meta.ip,
        "user_agent": meta.user_agent[:400] if meta.user_agent else None,
    }
    # One hand-written INSERT (logins and 2FA exchanges pay for it); the model object is
    # built from the same values, as Session.create would have left it.
    rows = await fetch(
        Session._meta.db if using_db is None else using_db,
        f"INSERT INTO sessions ({', '.join(columns)})"
        f" VALUES ({', '.join('?' * len(columns))}) RETURNING id",
        list(columns.values()),
    )
    session = Session._init_from_db(id=rows[0]["id"], revoked_at=None, **columns)
    object.__setattr__(session, "_user", user)
    return IssuedSession(token=token, session=session)


def session_expiry(session: Session) -> datetime:
    """When the session dies if unused: the earlier of the idle and absolute limits."""
    idle = session.last_seen_at + timedelta(minutes=get_settings().session_idle_minutes)
    return min(idle, session.expires_at)


# Whether the user ``u`` has a confirmed authenticator, as a column of a joined SELECT.
ENROLLED_COLUMN = (
    f' EXISTS (SELECT 1 FROM "{TotpAuthenticator._meta.db_table}" a'
    ' WHERE a."user_id" = u."id") "enrolled"'
)


@lru_cache(maxsize=2)
def viewer_sql(postgres: bool) -> str:
    return (
        f"SELECT {aliased_columns(Session, 's')},{aliased_columns(User, 'u')},"
        f"{aliased_columns(PasswordSecurityRules, 'r')},{ENROLLED_COLUMN}"
        f' FROM "{Session._meta.db_table}" s'
        f' JOIN "{User._meta.db_table}" u ON u."id" = s."user_id"'
        f' JOIN "{PasswordSecurityRules._meta.db_table}" r ON r."domain_id" = u."domain_id"'
        f' WHERE s."token_hash" = {"$1" if postgres else "?"}'
    )


async def resolve_viewer(token: str) -> Viewer:
    """The session behind a bearer token; anything not live is UNAUTHENTICATED."""
    return await resolve_viewer_by_hash(hash_token(token))


async def resolve_viewer_by_hash(token_hash: str) -> Viewer:
    """Also for long-lived operations (subscriptions) that check their session again."""
    now = utcnow()
    # Every request pays for this: one hand-written statement instead of three ORM queries
    # (building them cost more than running them).
    client = Session._meta.db
    rows = await client.execute_query_dict(
        viewer_sql(client.capabilities.dialect == "postgres"), [token_hash]
    )
    if not rows:
        raise UnauthenticatedError("Invalid, expired or revoked token")
    session = from_row(Session, rows[0], "s")
    if session.revoked_at is not None or session_expiry(session) <= now:
        raise UnauthenticatedError("Invalid, expired or revoked token")
    user = from_row(User, rows[0], "u")
    if not user.active:
        # Deactivation revokes the sessions in its transaction; this also refuses one that a
        # request read just before that committed, at its next request.
        raise UnauthenticatedError("Invalid, expired or revoked token")
    object.__setattr__(session, "_user", user)
    rules = from_row(PasswordSecurityRules, rows[0], "r")
    enrolled = bool(rows[0]["enrolled"])
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    if now - session.last_seen_at >= min(LAST_SEEN_RESOLUTION, idle / 10):
        # Coarse on purpose: one write a minute per session, not one per request.
        await Session.filter(id=session.id).update(last_seen_at=now)
        session.last_seen_at = now
    status = session_status(session, rules, user, enrolled, now)
    return Viewer(
        session=session, user=user, rules=rules, enrolled=enrolled, status=status, now=now
    )


async def revoke_session(session_id: int, using_db: BaseDBAsyncClient | None = None) -> int:
    """1 if this call revoked the session, 0 if it was already revoked (or is gone)."""
    return await execute(
        Session._meta.db if using_db is None else using_db,
        "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        [utcnow(), session_id],
    )


async def revoke_user_sessions(user_id: int, using_db: BaseDBAsyncClient | None = None) -> int:
    return (
        await Session.filter(user_id=user_id, revoked_at=None)
        .using_db(using_db)
        .update(revoked_at=utcnow())
    )
