from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from tortoise.exceptions import DoesNotExist, IntegrityError
from tortoise.transactions import in_transaction

from gql_portal import metrics
from gql_portal.accounts.ip_throttle import IpLimitError, count_ip_failure, give_back_ip_failure
from gql_portal.accounts.models import Domain, PasswordSecurityRules, Role, User
from gql_portal.accounts.passwords import hash_password, hashing_place, verify_login_password
from gql_portal.accounts.provisioning import insert_user, new_user_columns
from gql_portal.accounts.sessions import (
    ENROLLED_COLUMN,
    IssuedSession,
    Viewer,
    issue_session,
    revoke_session,
)
from gql_portal.accounts.throttle import (
    EmailLockedError,
    clear_login_attempts,
    count_login_attempt,
)
from gql_portal.accounts.validation import (
    require_domain_name,
    require_login_input,
    require_new_password,
)
from gql_portal.audit.models import AuditAction, AuditOutcome
from gql_portal.audit.services import record_audit_event
from gql_portal.clock import utcnow
from gql_portal.errors import BadUserInputError, InvalidCredentialsError
from gql_portal.metrics import LOGIN_FAILURES_UNAUDITED
from gql_portal.request_meta import RequestMeta
from gql_portal.sql import aliased_columns, execute, fetch, from_row
from gql_portal.two_factor.gate import LoginStatus, enrollment_deadline_shown, required_step


@dataclass(frozen=True, slots=True)
class LoginResult:
    status: LoginStatus
    issued: IssuedSession
    user: User
    enrollment_deadline: datetime | None
    recovery_codes: list[str] | None = None


async def create_domain(*, name: str) -> Domain:
    normalized = require_domain_name(name)
    async with in_transaction() as connection:
        try:
            domain = await Domain.create(name=normalized, using_db=connection)
        except IntegrityError:
            raise BadUserInputError(f"Domain {normalized} already exists", field="name") from None
        await PasswordSecurityRules.create(domain=domain, using_db=connection)
    return domain


async def get_domain_by_name(name: str) -> Domain | None:
    return await Domain.get_or_none(name=name.strip().lower())


async def create_user(
    *,
    domain: Domain,
    email: str,
    password: str,
    roles: list[Role],
    display_name: str = "",
    password_hash: str | None = None,
) -> User:
    """The CLI's and the demo's: the rules of provisioning.create_user without its audit
    event; ``password_hash`` lets seeding reuse one hash for many users."""
    columns = new_user_columns(
        domain_id=domain.id,
        email=email,
        display_name=display_name,
        roles=roles,
        password_hash=password_hash or "",
    )
    if password_hash is None:
        rules = await PasswordSecurityRules.get(domain_id=domain.id)
        require_new_password(password, rules.min_password_length)
        columns["password_hash"] = await hash_password(password)
    return await insert_user(columns, using_db=None)


async def login(*, email: str, password: str, meta: RequestMeta) -> LoginResult:
    """Check a password, at a fixed cost, after the limits that need no hash.

    Order: a place in the hashing queue (full: refused, nothing counted), the client IP's
    failures, the email's failures, then the hashes. Refusals of an unknown email write no
    audit row: audit reads are per domain, so a row with no domain is read by no one and
    only floods the table; they are counted in LOGIN_FAILURES_UNAUDITED instead.
    """
    key = require_login_input(email, password)
    with hashing_place():
        try:
            await count_ip_failure(meta.ip)
        except IpLimitError:
            LOGIN_FAILURES_UNAUDITED.labels(reason="ip_limit").inc()
            raise
        try:
            locks = await count_login_attempt(key)
        except EmailLockedError as locked:
            await _record_locked(key, locked, meta=meta)
            raise
        candidates = await _login_candidates(key)
        chosen = await _check_password(candidates, password)
    if chosen is None:
        if locks:
            metrics.record_lockout("password")
        await _record_failures(candidates, meta=meta, details={"reason": "bad_credentials"})
        raise InvalidCredentialsError()
    await clear_login_attempts(key)
    await give_back_ip_failure(meta.ip)
    result = await _start_session(chosen, meta=meta)
    # The status counted here, whatever the client selects; failures by their code, from
    # the answer (http/graphql_metrics.py).
    metrics.child(metrics.LOGINS, result.status.value).inc()
    return result


async def _record_locked(key: str, locked: EmailLockedError, *, meta: RequestMeta) -> None:
    """One event per lock window, at its first refusal; the rest are only counted.

    An event is never updated (sealed events must not change, and a window outlives the
    sealing delay), so the window's refusals are counted in its throttle row and in
    LOGIN_FAILURES_UNAUDITED; the event names the window by ``lockedUntil``.
    """
    if not locked.first or locked.locked_until is None:
        LOGIN_FAILURES_UNAUDITED.labels(reason="locked").inc()
        return
    details = {"reason": "locked", "lockedUntil": locked.locked_until.isoformat()}
    await _record_failures(await _login_candidates(key), meta=meta, details=details)


async def _record_failures(
    candidates: "list[_Candidate]", *, meta: RequestMeta, details: dict[str, str]
) -> None:
    """LOGIN_FAILED in the domain of each account the email names, that domain's to read."""
    if not candidates:
        LOGIN_FAILURES_UNAUDITED.labels(reason="unknown_email").inc()
        return
    async with in_transaction() as connection:
        for candidate in candidates:
            await record_audit_event(
                using_db=connection,
                action=AuditAction.LOGIN_FAILED,
                outcome=AuditOutcome.FAILURE,
                meta=meta,
                target=candidate.user,
                details=details,
            )


@dataclass(frozen=True, slots=True)
class _Candidate:
    """An account the email names, with what starting its session needs."""

    user: User
    rules: PasswordSecurityRules | None
    enrolled: bool


@lru_cache(maxsize=1)
def _candidates_sql() -> str:
    # Read as resolve_viewer reads the viewer: one joined row per account, built into the
    # models by the same helpers. LEFT JOIN: a domain without rules fails as .get() did.
    # Built at first use: the models' foreign-key columns exist once Tortoise is set up.
    return (
        f"SELECT {aliased_columns(User, 'u')},{aliased_columns(PasswordSecurityRules, 'r')},"
        f"{ENROLLED_COLUMN}"
        f' FROM "{User._meta.db_table}" u'
        f' LEFT JOIN "{PasswordSecurityRules._meta.db_table}" r ON r."domain_id" = u."domain_id"'
        ' WHERE u."email_normalized" = ? ORDER BY u."id"'
    )


async def _login_candidates(key: str) -> list[_Candidate]:
    """Every account with this email (one per domain), in id order: one statement."""
    rows = await fetch(User._meta.db, _candidates_sql(), [key])
    return [
        _Candidate(
            user=from_row(User, row, "u"),
            rules=None if row["r.id"] is None else from_row(PasswordSecurityRules, row, "r"),
            enrolled=bool(row["enrolled"]),
        )
        for row in rows
    ]


async def _check_password(candidates: list[_Candidate], password: str) -> _Candidate | None:
    """The same email may exist in several domains: the password picks the account.

    A fixed number of hashes whatever the email names (passwords.VERIFICATIONS_PER_LOGIN),
    so timing does not tell whether, or in how many domains, it exists.
    """
    # A deactivated user's hash is not even tried: "" is verified against the dummy hash
    # (same cost) and never matches, so the answer is INVALID_CREDENTIALS like a wrong
    # password and tells nothing of the deactivation.
    index = await verify_login_password(
        [candidate.user.password_hash if candidate.user.active else "" for candidate in candidates],
        password,
    )
    return None if index is None else candidates[index]


async def _start_session(candidate: _Candidate, *, meta: RequestMeta) -> LoginResult:
    now = utcnow()
    user, rules, enrolled = candidate.user, candidate.rules, candidate.enrolled
    if rules is None:
        raise DoesNotExist(PasswordSecurityRules)
    status = required_step(rules, user, enrolled, now)
    async with in_transaction() as connection:
        issued = await issue_session(
            user=user,
            meta=meta,
            pending=status is not LoginStatus.AUTHENTICATED,
            using_db=connection,
        )
        await execute(connection, "UPDATE users SET last_login_at = ? WHERE id = ?", [now, user.id])
        await record_audit_event(
            using_db=connection,
            action=AuditAction.LOGIN_SUCCEEDED,
            meta=meta,
            actor=user,
            target=user,
            details={"status": status.value},
        )
    user.last_login_at = now
    return LoginResult(
        status=status,
        issued=issued,
        user=user,
        enrollment_deadline=enrollment_deadline_shown(rules, user, enrolled, now),
    )


async def logout(*, viewer: Viewer, meta: RequestMeta) -> bool:
    async with in_transaction() as connection:
        revoked = await revoke_session(viewer.session.id, using_db=connection)
        if revoked:
            await record_audit_event(
                action=AuditAction.LOGOUT,
                meta=meta,
                actor=viewer.user,
                target=viewer.user,
                using_db=connection,
            )
    return bool(revoked)
