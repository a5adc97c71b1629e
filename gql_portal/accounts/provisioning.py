"""Users created, changed, deactivated and unlocked: the one place of CONTRACT section 10's
rules, whoever calls (GraphQL, the CSV import, SCIM, the CLI's validation); the two role
rules themselves are admin_guard's, shared with the import's set-based chunks.

Each function runs in one transaction with its audit event (``using_db`` joins a caller's
transaction instead), writes nothing and no event for a change that changes nothing, and
names its caller in ``details.via`` (``details`` adds the caller's own keys, e.g. SCIM's
token). A role change or deactivation locks the domain first (admin_guard), so two
concurrent changes that would each leave one admin cannot both pass.
"""

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from gql_portal.accounts.admin_guard import lock_admin_counts
from gql_portal.accounts.authorization import SYSTEM_ADMINS, require_role
from gql_portal.accounts.links import LinkRecipient, create_links
from gql_portal.accounts.models import (
    AccountLinkPurpose,
    PasswordSecurityRules,
    Role,
    User,
    decode_roles,
    encode_roles,
)
from gql_portal.accounts.passwords import hash_password
from gql_portal.accounts.sessions import Viewer, revoke_user_sessions
from gql_portal.accounts.throttle import throttle_key
from gql_portal.accounts.validation import (
    require_display_name,
    require_email,
    require_new_password,
)
from gql_portal.audit.models import AuditAction
from gql_portal.audit.services import record_audit_event
from gql_portal.clock import utcnow
from gql_portal.errors import BadUserInputError, NotFoundError
from gql_portal.notifications import notices
from gql_portal.request_meta import RequestMeta
from gql_portal.sql import fetch

Via = Literal["graphql", "import", "scim"]
MAX_EXTERNAL_ID_LENGTH = 255
# What an invited user's password_hash holds until they set one: no password matches it.
NO_PASSWORD = ""


def _actor_user(actor: Viewer | User | None) -> User | None:
    return actor.user if isinstance(actor, Viewer) else actor


def require_roles(roles: Collection[Role]) -> list[Role]:
    """At least one role; the stored order (encode_roles) whatever the order given."""
    if not roles:
        raise BadUserInputError("A user needs at least one role", field="roles")
    return decode_roles(encode_roles(list(roles)))


def require_external_id(external_id: str) -> str | None:
    """``""`` clears it."""
    cleaned = external_id.strip()
    if len(cleaned) > MAX_EXTERNAL_ID_LENGTH:
        raise BadUserInputError("externalId is too long", field="externalId")
    return cleaned or None


def new_user_columns(
    *,
    domain_id: int,
    email: str,
    display_name: str,
    roles: Collection[Role],
    password_hash: str,
    external_id: str | None = None,
) -> dict[str, Any]:
    """A new user's columns, checked: also for the CLI and the import's set-based chunks."""
    return {
        "domain_id": domain_id,
        "email": email.strip(),
        "email_normalized": require_email(email),
        "display_name": require_display_name(display_name),
        "roles": encode_roles(require_roles(roles)),
        "password_hash": password_hash,
        "external_id": None if external_id is None else require_external_id(external_id),
    }


def duplicate_email_error(email_normalized: str) -> BadUserInputError:
    # reason "taken": SCIM answers 409 uniqueness; GraphQL clients read the field.
    return BadUserInputError(f"{email_normalized} already exists", field="email", reason="taken")


async def insert_user(columns: dict[str, Any], *, using_db: BaseDBAsyncClient | None) -> User:
    try:
        return await User.create(using_db=using_db, **columns)
    except IntegrityError:
        raise duplicate_email_error(columns["email_normalized"]) from None


@asynccontextmanager
async def _transaction(using_db: BaseDBAsyncClient | None) -> AsyncIterator[BaseDBAsyncClient]:
    if using_db is not None:
        yield using_db
        return
    async with in_transaction() as connection:
        yield connection


def role_rule_error(reason: str, *, field: str) -> BadUserInputError:
    """A refusal of admin_guard's rules; ``reason`` lets SCIM answer its own scimType."""
    return BadUserInputError(reason, field=field, reason="role_rule")


async def _locked_user(connection: BaseDBAsyncClient, *, user_id: int, domain_id: int) -> User:
    """Another domain's user answers exactly like one that does not exist."""
    user = (
        await User.filter(id=user_id, domain_id=domain_id)
        .select_for_update()
        .using_db(connection)
        .first()
    )
    if user is None:
        raise NotFoundError()
    return user


async def create_user(
    *,
    domain_id: int,
    email: str,
    display_name: str,
    roles: Sequence[Role],
    password: str | None,
    actor: Viewer | User | None,
    meta: RequestMeta,
    via: Via,
    external_id: str | None = None,
    using_db: BaseDBAsyncClient | None = None,
    details: Mapping[str, Any] | None = None,
) -> User:
    """``password`` None: an invited user, who cannot log in until they set one: the
    invitation (link and mail) is written in the user's transaction."""
    actor_user = _actor_user(actor)
    if actor_user is not None:
        await require_role(actor_user, SYSTEM_ADMINS, operation="createUser", meta=meta)
    columns = new_user_columns(
        domain_id=domain_id,
        email=email,
        display_name=display_name,
        roles=roles,
        password_hash=NO_PASSWORD,
        external_id=external_id,
    )
    if password is not None:
        rules = await PasswordSecurityRules.filter(domain_id=domain_id).using_db(using_db).get()
        require_new_password(password, rules.min_password_length)
        # Hashed before the transaction: no write lock is held while argon2 runs.
        columns["password_hash"] = await hash_password(password)
        columns["password_changed_at"] = utcnow()
    async with _transaction(using_db) as connection:
        user = await insert_user(columns, using_db=connection)
        if password is None:
            invited = LinkRecipient(user.id, domain_id, user.email, user.display_name)
            await create_links([invited], AccountLinkPurpose.INVITATION, using_db=connection)
        event: dict[str, Any] = {
            "via": via,
            "roles": [role.value for role in user.role_list],
            "invited": password is None,
            **(details or {}),
        }
        if user.external_id is not None:
            event["externalId"] = True
        await record_audit_event(
            action=AuditAction.USER_CREATED,
            meta=meta,
            actor=actor_user,
            target=user,
            domain_id=domain_id,
            details=event,
            using_db=connection,
        )
    return user


async def update_user(
    *,
    user_id: int,
    domain_id: int,
    display_name: str | None = None,
    roles: Sequence[Role] | None = None,
    external_id: str | None = None,
    email: str | None = None,
    actor: Viewer | User | None,
    meta: RequestMeta,
    via: Via,
    using_db: BaseDBAsyncClient | None = None,
    details: Mapping[str, Any] | None = None,
) -> User:
    """None leaves a value unchanged; ``external_id=""`` clears it. The event says what
    changed (roles from and to; a display name or external id only that it changed)."""
    actor_user = _actor_user(actor)
    if actor_user is not None:
        await require_role(actor_user, SYSTEM_ADMINS, operation="updateUser", meta=meta)
    new_name = None if display_name is None else require_display_name(display_name)
    new_roles = None if roles is None else require_roles(roles)
    new_normalized = None if email is None else require_email(email)
    new_external = None if external_id is None else require_external_id(external_id)
    async with _transaction(using_db) as connection:
        # The domain's lock first, then the user's row: every writer takes them in this order.
        guard = await lock_admin_counts(connection, domain_id) if new_roles is not None else None
        user = await _locked_user(connection, user_id=user_id, domain_id=domain_id)
        changes: dict[str, Any] = {}
        event: dict[str, Any] = {"via": via, **(details or {})}
        if new_name is not None and new_name != user.display_name:
            changes["display_name"] = new_name
            event["displayName"] = True
        if new_roles is not None and new_roles != user.role_list:
            assert guard is not None
            refusal = guard.refusal(
                user_id=user.id,
                actor_id=None if actor_user is None else actor_user.id,
                active=user.active,
                before=user.roles,
                after=encode_roles(new_roles),
            )
            if refusal is not None:
                raise role_rule_error(refusal, field="roles")
            changes["roles"] = encode_roles(new_roles)
            event["roles"] = {
                "from": [role.value for role in user.role_list],
                "to": [role.value for role in new_roles],
            }
        if email is not None and email.strip() != user.email:
            changes["email"] = email.strip()
            changes["email_normalized"] = new_normalized
            event["email"] = {"from": user.email, "to": email.strip()}
        if external_id is not None and new_external != user.external_id:
            changes["external_id"] = new_external
            event["externalId"] = True
        if not changes:
            return user
        changes["updated_at"] = utcnow()
        try:
            await User.filter(id=user.id).using_db(connection).update(**changes)
        except IntegrityError:
            raise duplicate_email_error(str(new_normalized)) from None
        user.update_from_dict(changes)
        await record_audit_event(
            action=AuditAction.USER_UPDATED,
            meta=meta,
            actor=actor_user,
            target=user,
            domain_id=domain_id,
            details=event,
            using_db=connection,
        )
    return user


async def set_user_active(
    *,
    user_id: int,
    domain_id: int,
    active: bool,
    actor: Viewer | User | None,
    meta: RequestMeta,
    via: Via,
    using_db: BaseDBAsyncClient | None = None,
    details: Mapping[str, Any] | None = None,
) -> User:
    """Deactivation revokes every session of the user in the same transaction and keeps
    their 2FA settings; reactivation lets them log in again (no session comes back)."""
    actor_user = _actor_user(actor)
    if actor_user is not None:
        if active:
            await require_role(actor_user, SYSTEM_ADMINS, operation="reactivateUser", meta=meta)
        else:
            await require_role(actor_user, SYSTEM_ADMINS, operation="deactivateUser", meta=meta)
    async with _transaction(using_db) as connection:
        guard = await lock_admin_counts(connection, domain_id) if not active else None
        user = await _locked_user(connection, user_id=user_id, domain_id=domain_id)
        if user.active == active:
            return user
        event: dict[str, Any] = {"via": via, **(details or {})}
        if guard is not None:
            if actor_user is not None and actor_user.id == user.id:
                raise role_rule_error("You cannot deactivate your own account", field="userId")
            # Deactivated, the user holds no role that counts: as if all were removed.
            refusal = guard.refusal(
                user_id=user.id, actor_id=None, active=True, before=user.roles, after=""
            )
            if refusal is not None:
                raise role_rule_error(refusal, field="userId")
        now = utcnow()
        changes: dict[str, Any] = {
            "active": active,
            "deactivated_at": None if active else now,
            "updated_at": now,
        }
        await User.filter(id=user.id).using_db(connection).update(**changes)
        user.update_from_dict(changes)
        if not active:
            event["sessionsRevoked"] = await revoke_user_sessions(user.id, using_db=connection)
        await record_audit_event(
            action=AuditAction.USER_REACTIVATED if active else AuditAction.USER_DEACTIVATED,
            meta=meta,
            actor=actor_user,
            target=user,
            domain_id=domain_id,
            details=event,
            using_db=connection,
        )
        if not active:
            await notices.account_deactivated(user, actor_user, connection)
    return user


async def unlock_user_login(
    *, user_id: int, domain_id: int, actor: Viewer | User, meta: RequestMeta
) -> User:
    """Forget the password throttle of the user's email (its failures and its lock); the
    per-IP throttle is another limit and stays. Nothing to forget writes no event."""
    actor_user = _actor_user(actor)
    assert actor_user is not None
    await require_role(actor_user, SYSTEM_ADMINS, operation="unlockUserLogin", meta=meta)
    async with in_transaction() as connection:
        user = await _locked_user(connection, user_id=user_id, domain_id=domain_id)
        cleared = await fetch(
            connection,
            "DELETE FROM login_throttles WHERE key = ? RETURNING failures, locked_until",
            [throttle_key(user.email_normalized)],
        )
        if cleared:
            locked_until = cleared[0]["locked_until"]
            await record_audit_event(
                action=AuditAction.USER_LOGIN_UNLOCKED,
                meta=meta,
                actor=actor_user,
                target=user,
                domain_id=domain_id,
                details={
                    "via": "graphql",
                    "failures": int(cleared[0]["failures"]),
                    "wasLocked": locked_until is not None,
                },
                using_db=connection,
            )
    return user
