"""One chunk of an import job: the next rows after the checkpoint (a CSV line), applied.

A fixed set of set-based statements whatever the chunk holds: the rows, the users the rows
name (one SELECT by email_normalized), the domain's lock (and its admin counts when a row
takes an admin role away), one multi-row
INSERT of the new users, one UPDATE ... FROM of the changed ones, their USER_CREATED and
USER_UPDATED events, 2FA enabled when asked, and the rows' outcomes. All in the runner's
transaction: a row is applied whole or not at all, and a repeated chunk (a crash before
the commit) applies nothing twice. A dry run decides the same outcomes and writes only them.

Each write is one function below, so what follows a chunk (mails, invitations) has one
obvious place to go.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from gql_portal.accounts.admin_guard import AdminGuard, lock_admin_counts, removes_kept_role
from gql_portal.accounts.links import LinkRecipient, create_links
from gql_portal.accounts.models import (
    AccountLinkPurpose,
    PasswordSecurityRules,
    Role,
    decode_roles,
    encode_roles,
)
from gql_portal.audit.models import AuditAction
from gql_portal.audit.services import record_user_audit_events
from gql_portal.bulk.chunk import enable_chunk
from gql_portal.bulk.events import job_fields, job_meta
from gql_portal.bulk.models import BulkJob, ImportRowOutcome
from gql_portal.bulk.steps import ChunkCounts, ChunkRaceError, JobStoppedError
from gql_portal.sql import execute, fetch, is_postgres, json_parameter, json_records

VIA = "import"
# An import keeps its one option in the job's JSON column (an enablement keeps its user
# selection there): whether to enable 2FA for the imported users.
ENABLE_TWO_FACTOR_OPTION = "enableTwoFactor"
# A dry run's accepted changes of the kept roles so far (dry_run_moves).
DRY_RUN_MOVES = "dryRunAdminMoves"
NEW_USER_ROLES = encode_roles([Role.USER])
CREATED = ImportRowOutcome.CREATED
UPDATED = ImportRowOutcome.UPDATED
UNCHANGED = ImportRowOutcome.UNCHANGED
REFUSED = ImportRowOutcome.REFUSED

_ROWS_SQL = (
    "SELECT id, line, email, email_normalized, display_name, roles, outcome, error "
    "FROM import_rows WHERE job_id = ? AND line > ? ORDER BY line LIMIT ?"
)
# The users the chunk's emails name, driven from the emails (one parameter), each looked up
# by its email's index. PostgreSQL's statistics of a domain that this job fills are stale
# (it believes the domain holds a row or two), so any index on domain_id looked as good as
# the email's: a plain `IN (...)` scanned every user of the domain per chunk against every
# email (quadratic: 26x the floor at 100,000 rows), and even a LATERAL lookup picked the
# (domain_id, id) index half the time. `domain_id + 0` is PostgreSQL's way to say "no index
# on this column": left is the email's, one probe per email whatever the statistics say.
# SQLite: CROSS JOIN fixes the order (the emails outside), and it probes the unique index.
_USER_COLUMNS = "id, email_normalized, display_name, roles, active"
_EXISTING_SQL = {
    "postgres": "SELECT u.* FROM unnest(CAST(? AS text[])) AS e(email) CROSS JOIN LATERAL "
    f"(SELECT {_USER_COLUMNS} FROM users WHERE email_normalized = e.email "
    "AND domain_id + 0 = ?{lock}) AS u",
    "sqlite": f"SELECT {', '.join('u.' + c for c in _USER_COLUMNS.split(', '))} "
    "FROM json_each(?) AS e CROSS JOIN users u "
    "WHERE u.domain_id = ? AND u.email_normalized = e.value",
}
_NEW_USER = (
    ("email", "text"),
    ("email_normalized", "text"),
    ("display_name", "text"),
    ("roles", "text"),
)
_CHANGED_USER = (("id", "int"), ("display_name", "text"), ("roles", "text"))
_OUTCOME = (("id", "bigint"), ("outcome", "text"), ("error", "text"), ("user_id", "int"))


@dataclass(slots=True)
class Decision:
    """What one row does: its outcome and the user it leaves (id None: a user to create)."""

    row_id: int
    outcome: ImportRowOutcome
    error: str | None
    user_id: int | None
    email: str
    email_normalized: str
    display_name: str
    roles: str
    active: bool = True
    line: int = 0
    # The existing user's display name and roles (encoded) before the row: the event says
    # what changed. None for a user to create.
    before: tuple[str, str] | None = None


def decide(
    row: dict[str, Any], user: dict[str, Any] | None, guard: AdminGuard, actor_id: int | None
) -> Decision:
    """One row against the user of its email (None: not in the domain), in line order.
    An empty display name or roles cell keeps what an existing user has."""
    decision = Decision(
        row_id=int(row["id"]),
        outcome=REFUSED,
        error=row["error"],
        user_id=int(user["id"]) if user else None,
        email=row["email"],
        email_normalized=row["email_normalized"],
        display_name=row["display_name"],
        roles=row["roles"] or (user["roles"] if user else NEW_USER_ROLES),
        active=bool(user["active"]) if user else True,
        line=int(row["line"]),
        before=(user["display_name"], user["roles"]) if user else None,
    )
    if row["outcome"] == REFUSED.value:
        return decision
    if user is None:
        guard.refusal(user_id=None, actor_id=actor_id, active=True, before="", after=decision.roles)
        decision.outcome = CREATED
        return decision
    decision.display_name = decision.display_name or user["display_name"]
    refusal = guard.refusal(
        user_id=decision.user_id,
        actor_id=actor_id,
        active=decision.active,
        before=user["roles"],
        after=decision.roles,
    )
    if refusal is not None:
        decision.error = refusal
        return decision
    same = (decision.display_name, decision.roles) == (user["display_name"], user["roles"])
    decision.outcome = UNCHANGED if same else UPDATED
    return decision


async def import_step(
    job: BulkJob, size: int, now: datetime, connection: BaseDBAsyncClient
) -> ChunkCounts | None:
    rows = await fetch(connection, _ROWS_SQL, [job.id, job.checkpoint_user_id, size])
    if not rows:
        return None
    last = int(rows[-1]["line"])
    enable_two_factor = import_options(job)
    rules = await PasswordSecurityRules.filter(domain_id=job.domain_id).using_db(connection).get()
    if enable_two_factor and not job.dry_run and not rules.two_factor_enabled:
        raise JobStoppedError("Two-Factor Authentication was turned off for the domain")
    emails = sorted({row["email_normalized"] for row in rows})
    if is_postgres(connection):
        lock = "" if job.dry_run else " FOR UPDATE"
        sql, values = _EXISTING_SQL["postgres"].format(lock=lock), [emails, job.domain_id]
    else:
        sql, values = _EXISTING_SQL["sqlite"], [json.dumps(emails), job.domain_id]
    found = await fetch(connection, sql, values)
    users = {user["email_normalized"]: user for user in found}
    guard = await lock_admin_counts(
        connection, job.domain_id, count=_removes_kept_role(rows, users)
    )
    if job.dry_run:
        guard.carry(dry_run_moves(job))
    decisions = [
        decide(row, users.get(row["email_normalized"]), guard, job.requested_by_id) for row in rows
    ]
    if job.dry_run:
        await keep_dry_run_moves(connection, job, guard.moved())
    if not job.dry_run:
        await create_users(connection, job, decisions, now)
        await invite_created(connection, job, decisions)
        await update_users(connection, decisions, now)
        await record_user_events(connection, job, decisions)
        if enable_two_factor:
            await enable_imported_two_factor(connection, job, rules, decisions, now)
    await record_outcomes(connection, decisions)
    counted = {outcome: 0 for outcome in ImportRowOutcome}
    for decision in decisions:
        counted[decision.outcome] += 1
    return ChunkCounts(
        checkpoint=last,
        processed=len(decisions),
        changed=counted[CREATED] + counted[UPDATED],
        skipped=counted[UNCHANGED],
        failed=counted[REFUSED],
        created=counted[CREATED],
        updated=counted[UPDATED],
    )


def _removes_kept_role(rows: list[dict[str, Any]], users: dict[str, dict[str, Any]]) -> bool:
    """Whether a row of the chunk would take a kept role from an active user: only then
    are the domain's admins counted."""
    for row in rows:
        user = users.get(row["email_normalized"])
        if user and user["active"] and row["roles"] and row["outcome"] != REFUSED.value:
            if removes_kept_role(user["roles"], row["roles"]):
                return True
    return False


def dry_run_moves(job: BulkJob) -> dict[Role, int]:
    """A dry run writes no user, so a later chunk's count of admins would not see an
    earlier chunk's accepted role changes: the job keeps their sum, and each chunk counts
    it in, so the preview refuses exactly what the import would."""
    stored = job.user_filter.get(DRY_RUN_MOVES, {})
    return {Role(role): int(count) for role, count in stored.items()}


async def keep_dry_run_moves(
    connection: BaseDBAsyncClient, job: BulkJob, moved: dict[Role, int]
) -> None:
    """In the chunk's transaction (a repeated chunk counts nothing twice); no statement
    when the chunk moved nothing."""
    if moved == {role: dry_run_moves(job).get(role, 0) for role in moved}:
        return
    job.user_filter = {
        **job.user_filter,
        DRY_RUN_MOVES: {role.value: count for role, count in moved.items()},
    }
    await execute(
        connection,
        f"UPDATE bulk_jobs SET user_filter = {json_parameter(connection)} WHERE id = ?",
        [json.dumps(job.user_filter), job.id],
    )


def import_options(job: BulkJob) -> bool:
    return bool(job.user_filter.get(ENABLE_TWO_FACTOR_OPTION, False))


def _of(decisions: list[Decision], outcome: ImportRowOutcome) -> list[Decision]:
    return [decision for decision in decisions if decision.outcome is outcome]


async def create_users(
    connection: BaseDBAsyncClient, job: BulkJob, decisions: list[Decision], now: datetime
) -> None:
    """One multi-row INSERT; invited users (password_hash "": no password matches it).
    A user created meanwhile by someone else (the unique email) redoes the chunk, where
    the row then updates that user."""
    new = _of(decisions, CREATED)
    records = [
        {
            "email": decision.email,
            "email_normalized": decision.email_normalized,
            "display_name": decision.display_name,
            "roles": decision.roles,
        }
        for decision in new
    ]
    # WHERE true: SQLite's parser needs it between INSERT ... SELECT and ON CONFLICT.
    inserted = await fetch(
        connection,
        "INSERT INTO users (domain_id, email, email_normalized, display_name, roles, "
        "password_hash, created_at, active, two_factor_enabled, code_failures) "
        "SELECT ?, r.email, r.email_normalized, r.display_name, r.roles, '', ?, ?, ?, 0 "
        f"FROM {json_records(connection, _NEW_USER)} WHERE true "
        "ON CONFLICT (domain_id, email_normalized) DO NOTHING RETURNING id, email_normalized",
        [job.domain_id, now, True, False, json.dumps(records)],
    )
    if len(inserted) != len(new):
        raise ChunkRaceError("a user of the chunk was created meanwhile")
    ids = {row["email_normalized"]: int(row["id"]) for row in inserted}
    for decision in new:
        decision.user_id = ids[decision.email_normalized]


async def invite_created(
    connection: BaseDBAsyncClient, job: BulkJob, decisions: list[Decision]
) -> None:
    """Every created user is invited (an import sets no password): their links and mails in
    the chunk's transaction, a fixed few statements (accounts/links.py)."""
    invited = [
        LinkRecipient(decision.user_id, job.domain_id, decision.email, decision.display_name)
        for decision in _of(decisions, CREATED)
        if decision.user_id is not None
    ]
    await create_links(invited, AccountLinkPurpose.INVITATION, using_db=connection, job_id=job.id)


async def update_users(
    connection: BaseDBAsyncClient, decisions: list[Decision], now: datetime
) -> None:
    """One UPDATE ... FROM for every changed user (their rows are locked: no race)."""
    records = [
        {"id": decision.user_id, "display_name": decision.display_name, "roles": decision.roles}
        for decision in _of(decisions, UPDATED)
    ]
    await execute(
        connection,
        "UPDATE users SET display_name = r.display_name, roles = r.roles, updated_at = ? "
        f"FROM {json_records(connection, _CHANGED_USER)} WHERE users.id = r.id",
        [now, json.dumps(records)],
    )


def _role_names(encoded: str) -> list[str]:
    return [role.value for role in decode_roles(encoded)]


def _created_details(decision: Decision) -> dict[str, Any]:
    """As createUser's event: the roles given and the invitation (an import sets no
    password), with the CSV line."""
    return {"line": decision.line, "roles": _role_names(decision.roles), "invited": True}


def _updated_details(decision: Decision) -> dict[str, Any]:
    """As updateUser's event: roles from and to, that the display name changed."""
    details: dict[str, Any] = {"line": decision.line}
    display_name, roles = decision.before or ("", "")
    if decision.display_name != display_name:
        details["displayName"] = True
    if decision.roles != roles:
        details["roles"] = {
            "from": _role_names(roles),
            "to": _role_names(decision.roles),
        }
    return details


async def record_user_events(
    connection: BaseDBAsyncClient, job: BulkJob, decisions: list[Decision]
) -> None:
    """USER_CREATED and USER_UPDATED, one INSERT ... SELECT each, attributed to the job,
    each event with what the row did to its user."""
    for action, outcome, details in (
        (AuditAction.USER_CREATED, CREATED, _created_details),
        (AuditAction.USER_UPDATED, UPDATED, _updated_details),
    ):
        own = {d.user_id: details(d) for d in _of(decisions, outcome) if d.user_id is not None}
        await record_user_audit_events(
            connection,
            action=action,
            meta=job_meta(job),
            user_ids=list(own),
            user_details=own,
            **job_fields(job, {"via": VIA}),
        )


async def enable_imported_two_factor(
    connection: BaseDBAsyncClient,
    job: BulkJob,
    rules: PasswordSecurityRules,
    decisions: list[Decision],
    now: datetime,
) -> None:
    """``enableTwoFactor``: every active user the chunk imported, as bulk enablement does
    (the same statement, its USER_TWO_FACTOR_ENABLED events and enrollment deadlines)."""
    imported = [
        decision.user_id
        for decision in decisions
        if decision.outcome is not REFUSED and decision.active and decision.user_id
    ]
    if imported:
        await enable_chunk(job, rules, imported, now, connection)


async def record_outcomes(connection: BaseDBAsyncClient, decisions: list[Decision]) -> None:
    """Every row's outcome, reason and user: one UPDATE ... FROM."""
    records = [
        {
            "id": decision.row_id,
            "outcome": decision.outcome.value,
            "error": decision.error[:300] if decision.error else None,
            "user_id": decision.user_id,
        }
        for decision in decisions
    ]
    await execute(
        connection,
        "UPDATE import_rows SET outcome = r.outcome, error = r.error, user_id = r.user_id "
        f"FROM {json_records(connection, _OUTCOME)} WHERE import_rows.id = r.id",
        [json.dumps(records)],
    )
