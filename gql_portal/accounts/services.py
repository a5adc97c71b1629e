from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from tortoise.exceptions import DoesNotExist, IntegrityError
from tortoise.transactions import in_transaction

from gql_portal.accounts.models import Domain, PasswordSecurityRules, Role, User, encode_roles
from gql_portal.accounts.passwords import hash_password, verify_password
from gql_portal.accounts.sessions import (
    ENROLLED_COLUMN,
    IssuedSession,
    Viewer,
    issue_session,
    revoke_session,
)
from gql_portal.accounts.throttle import clear_login_attempts, count_login_attempt
from gql_portal.accounts.validation import (
    require_display_name,
    require_domain_name,
    require_email,
    require_login_input,
    require_new_password,
)
from gql_portal.audit.models import AuditAction, AuditOutcome
from gql_portal.audit.services import RequestMeta, record_audit_event, write_audit_event
from gql_portal.clock import utcnow
from gql_portal.errors import BadUserInputError, InvalidCredentialsError, TooManyAttemptsError
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
    """Create a user; ``password_hash`` lets seeding reuse one hash for many users."""
    normalized = require_email(email)
    rules = await PasswordSecurityRules.get(domain_id=domain.id)
    if password_hash is None:
        require_new_password(password, rules.min_password_length)
        password_hash = await hash_password(password)
    if not roles:
        raise BadUserInputError("A user needs at least one role", field="roles")
    try:
        return await User.create(
            domain=domain,
            email=email.strip(),
            email_normalized=normalized,
            display_name=require_display_name(display_name),
            roles=encode_roles(roles),
            password_hash=password_hash,
        )
    except IntegrityError:
        raise BadUserInputError(
            f"{normalized} already exists in {domain.name}", field="email"
        ) from None


async def login(*, email: str, password: str, meta: RequestMeta) -> LoginResult:
    key = require_login_input(email, password)
    try:
        await count_login_attempt(key)
    except TooManyAttemptsError:
        await record_audit_event(
            action=AuditAction.LOGIN_FAILED,
            outcome=AuditOutcome.FAILURE,
            meta=meta,
            target_email=key,
            domain_id=await _domain_of_email(key),
            details={"reason": "throttled"},
        )
        raise
    candidates = await _login_candidates(key)
    chosen = await _check_password(candidates, password)
    if chosen is None:
        await record_audit_event(
            action=AuditAction.LOGIN_FAILED,
            outcome=AuditOutcome.FAILURE,
            meta=meta,
            target=candidates[0].user if len(candidates) == 1 else None,
            target_email=key,
            details={"reason": "bad_credentials"},
        )
        raise InvalidCredentialsError()
    await clear_login_attempts(key)
    return await _start_session(chosen, meta=meta)


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

    An unknown email still costs one hash, so timing does not tell whether it exists.
    """
    if not candidates:
        await verify_password(None, password)
        return None
    for candidate in candidates:
        if await verify_password(candidate.user.password_hash, password):
            return candidate
    return None


async def _domain_of_email(key: str) -> int | None:
    domain_ids: list[int] = await User.filter(email_normalized=key).values_list(
        "domain_id", flat=True
    )  # type: ignore[assignment]
    return domain_ids[0] if len(domain_ids) == 1 else None


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
        await write_audit_event(
            connection,
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
