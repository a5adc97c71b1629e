"""The baselines: bare Starlette routes sending the portal's own SQL statements through the
same driver (Tortoise's connection, no models) and answering the same JSON.

No GraphQL, no middleware, no ORM objects: the floor a hand-written endpoint could reach.
"""

import contextlib
import json
import secrets
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.contrib.starlette import RegisterTortoise
from tortoise.transactions import in_transaction

from gql_portal.accounts.sessions import (
    LAST_SEEN_RESOLUTION,
    TOKEN_PREFIX,
    hash_token,
    viewer_sql,
)
from gql_portal.api.pagination import encode_cursor
from gql_portal.app import freeze_startup_objects
from gql_portal.audit.models import AuditAction, AuditOutcome
from gql_portal.audit.services import _insert_sql
from gql_portal.clock import utcnow
from gql_portal.crypto import decrypt_secret
from gql_portal.db import tortoise_config
from gql_portal.settings import get_settings
from gql_portal.two_factor import totp
from gql_portal.two_factor.attempt import _lock_sql
from gql_portal.two_factor.gate import LoginStatus

USER_COLUMNS = (
    "created_at",
    "two_factor_enabled",
    "display_name",
    "code_locked_until",
    "enrollment_deadline",
    "id",
    "two_factor_enabled_at",
    "last_login_at",
    "code_failures",
    "password_hash",
    "email_normalized",
    "roles",
    "email",
    "domain_id",
)
RULES_SQL = (
    'SELECT "audit_retention_days","two_factor_enabled","updated_by_id","id","updated_at",'
    '"enrollment_grace_period_hours","min_password_length","domain_id"'
    ' FROM "password_security_rules" WHERE "domain_id"=? LIMIT ?'
)
TOUCH_SQL = 'UPDATE "sessions" SET "last_seen_at"=? WHERE "id"=?'
USERS_SQL = (
    "SELECT "
    + ",".join(f'"{c}"' for c in USER_COLUMNS)
    + ' FROM "users" WHERE "domain_id"=? ORDER BY "email_normalized" ASC LIMIT ?'
)
DOMAINS_SQL = 'SELECT "created_at","name","id" FROM "domains" WHERE "id" IN ({})'
RULES_IN_SQL = RULES_SQL.replace('"domain_id"=? LIMIT ?', '"domain_id" IN ({})')
AUTHENTICATORS_SQL = (
    'SELECT "last_used_step","secret_encrypted","confirmed_at","id","user_id"'
    ' FROM "totp_authenticators" WHERE "user_id" IN ({})'
)
RECOVERY_SQL = (
    'SELECT "user_id" "user_id",COUNT("id") "remaining" FROM "recovery_codes"'
    ' WHERE "user_id" IN ({}) AND "used_at" IS NULL GROUP BY "user_id"'
)
READERS = {"SECURITY_ADMIN", "SYSTEM_ADMIN", "AUDITOR"}


class Database:
    """Placeholders and value conversion for SQLite (``?``, text) and asyncpg (``$n``)."""

    def __init__(self, client: BaseDBAsyncClient | None = None) -> None:
        self.client = client or connections.get("default")
        self.postgres = self.client.capabilities.dialect == "postgres"

    async def rows(self, sql: str, values: Sequence[Any]) -> list[dict[str, Any]]:
        if self.postgres:
            parts = sql.split("?")
            sql = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
        rows: list[dict[str, Any]] = await self.client.execute_query_dict(sql, list(values))
        return rows

    async def execute(self, sql: str, values: Sequence[Any]) -> None:
        await self.rows(sql, values)

    async def count(self, sql: str, values: Sequence[Any]) -> int:
        """Rows an UPDATE changed."""
        if self.postgres:
            parts = sql.split("?")
            sql = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
        changed, _ = await self.client.execute_query(sql, list(values))
        return int(changed)

    def flag(self, value: bool) -> Any:
        return value if self.postgres else int(value)

    def time(self, value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        return datetime.fromisoformat(value)

    def stamp(self, value: datetime) -> Any:
        return value if self.postgres else value.isoformat(" ")


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def roles(stored: str) -> list[str]:
    return [part for part in stored.strip(",").split(",") if part]


def unauthenticated() -> Response:
    return JSONResponse(
        {
            "data": None,
            "errors": [{"message": "Invalid token", "extensions": {"code": "UNAUTHENTICATED"}}],
        }
    )


async def viewer(db: Database, request: Request) -> dict[str, Any] | None:
    """resolve_viewer's statement (and its once-a-minute touch), without ORM objects."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    now = utcnow()
    found = await db.rows(viewer_sql(False), [hash_token(token.strip())])
    if not found:
        return None
    row = {key[2:]: value for key, value in found[0].items() if key.startswith("s.")}
    last_seen = db.time(row["last_seen_at"])
    expires = db.time(row["expires_at"])
    assert last_seen is not None and expires is not None
    idle = last_seen + timedelta(minutes=get_settings().session_idle_minutes)
    if row["revoked_at"] is not None or min(idle, expires) <= now:
        return None
    user = {key[2:]: value for key, value in found[0].items() if key.startswith("u.")}
    rules = {key[2:]: value for key, value in found[0].items() if key.startswith("r.")}
    enrolled = bool(found[0]["enrolled"])
    if now - last_seen >= LAST_SEEN_RESOLUTION:
        await db.execute(TOUCH_SQL, [db.stamp(now), row["id"]])
    return {
        "user": user,
        "rules": rules,
        "enrolled": enrolled,
        "pending": row["issued_pending"],
        "session_id": row["id"],
    }


async def me(request: Request) -> Response:
    json.loads(await request.body())
    db = Database()
    found = await viewer(db, request)
    if found is None:
        return unauthenticated()
    user = found["user"]
    return JSONResponse(
        {
            "data": {
                "me": {
                    "id": str(user["id"]),
                    "email": user["email"],
                    "displayName": user["display_name"],
                    "roles": roles(user["roles"]),
                }
            }
        }
    )


def state(rules: dict[str, Any], user: dict[str, Any], enrolled: bool) -> str:
    if not rules["two_factor_enabled"]:
        return "NOT_AVAILABLE"
    if not user["two_factor_enabled"]:
        return "DISABLED"
    return "ENROLLED" if enrolled else "PENDING_ENROLLMENT"


async def users(request: Request) -> Response:
    body = json.loads(await request.body())
    size = int(body.get("variables", {}).get("first", 50))
    db = Database()
    found = await viewer(db, request)
    if found is None or found["pending"] or not READERS & set(roles(found["user"]["roles"])):
        return unauthenticated()
    page = await db.rows(USERS_SQL, [found["user"]["domain_id"], size + 1])
    items = page[:size]
    ids = [row["id"] for row in items]
    marks = ",".join("?" * len(ids))
    domain_ids = sorted({row["domain_id"] for row in items})
    domain_marks = ",".join("?" * len(domain_ids))
    domains = {r["id"]: r for r in await db.rows(DOMAINS_SQL.format(domain_marks), domain_ids)}
    rules = {
        r["domain_id"]: r for r in await db.rows(RULES_IN_SQL.format(domain_marks), domain_ids)
    }
    authenticators = (
        {r["user_id"]: r for r in await db.rows(AUTHENTICATORS_SQL.format(marks), ids)}
        if ids
        else {}
    )
    remaining = (
        {r["user_id"]: r["remaining"] for r in await db.rows(RECOVERY_SQL.format(marks), ids)}
        if ids
        else {}
    )
    now = utcnow()
    edges = []
    for row in items:
        authenticator = authenticators.get(row["id"])
        domain = domains[row["domain_id"]]
        locked_until = db.time(row["code_locked_until"])
        edges.append(
            {
                "cursor": encode_cursor("user", row["email_normalized"]),
                "node": {
                    "id": str(row["id"]),
                    "email": row["email"],
                    "displayName": row["display_name"],
                    "roles": roles(row["roles"]),
                    "domain": {"id": str(domain["id"]), "name": domain["name"]},
                    "twoFactor": {
                        "state": state(rules[row["domain_id"]], row, authenticator is not None),
                        "enabled": bool(row["two_factor_enabled"]),
                        "enrolled": authenticator is not None,
                        "enrolledAt": iso(db.time(authenticator["confirmed_at"]))
                        if authenticator
                        else None,
                        "recoveryCodesRemaining": remaining.get(row["id"], 0),
                        "lockedUntil": iso(locked_until)
                        if locked_until is not None and locked_until > now
                        else None,
                    },
                },
            }
        )
    return JSONResponse(
        {
            "data": {
                "users": {
                    "edges": edges,
                    "pageInfo": {
                        "hasNextPage": len(page) > size,
                        "endCursor": edges[-1]["cursor"] if edges else None,
                    },
                }
            }
        }
    )


SESSION_COLUMNS = (
    "token_hash",
    "user_id",
    "issued_pending",
    "second_factor_at",
    "created_at",
    "last_seen_at",
    "expires_at",
    "ip",
    "user_agent",
)
SESSION_SQL = (
    f"INSERT INTO sessions ({','.join(SESSION_COLUMNS)})"
    f" VALUES ({','.join('?' * len(SESSION_COLUMNS))}) RETURNING id"
)
GUARD_SQL = "UPDATE totp_authenticators SET last_used_step = ? WHERE id = ? AND last_used_step < ?"
REVOKE_SQL = "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"


async def verify(request: Request) -> Response:
    """verifyTotp's work by hand: the viewer read, then one transaction with the locking
    read, the code check, the replay guard, the session exchange and the audit event, the
    portal's own statements (a verification that needs no counter change: 5 in the
    transaction). The floor for a verification, as /me is the floor for me."""
    body = json.loads(await request.body())
    code = body["variables"]["code"]
    db = Database()
    found = await viewer(db, request)
    if found is None or not found["pending"]:
        return unauthenticated()
    user = found["user"]
    session_id = found["session_id"]
    now = utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with in_transaction() as connection:
        tx = Database(connection)
        locked = await tx.rows(_lock_sql(db.postgres), [session_id, user["id"]])
        if not locked or locked[0]["revoked_at"] is not None:
            return unauthenticated()
        step = totp.matching_step(decrypt_secret(locked[0]["secret_encrypted"]), code, now)
        if step is None or locked[0]["code_failures"]:
            raise RuntimeError("the bench sends only fresh, right codes")
        if not await tx.count(GUARD_SQL, [step, locked[0]["authenticator_id"], step]):
            raise RuntimeError("the bench never replays a code")
        if not await tx.count(REVOKE_SQL, [tx.stamp(now), session_id]):
            return unauthenticated()
        lifetime = timedelta(hours=get_settings().session_lifetime_hours)
        values = [
            hash_token(token),
            user["id"],
            tx.flag(False),
            tx.stamp(now),
            tx.stamp(now),
            tx.stamp(now),
            tx.stamp(now + lifetime),
            request.client.host if request.client else None,
            request.headers.get("user-agent"),
        ]
        await tx.rows(SESSION_SQL, values)
        details = "CAST(? AS JSONB)" if db.postgres else "?"
        await tx.execute(
            _insert_sql(details),
            [
                user["domain_id"],
                tx.stamp(now),
                AuditAction.TOTP_VERIFIED.value,
                AuditOutcome.SUCCESS.value,
                user["id"],
                user["email"],
                user["id"],
                user["email"],
                request.client.host if request.client else None,
                request.headers.get("user-agent"),
                None,
                None,
                None,
            ],
        )
    return JSONResponse(
        {"data": {"verifyTotp": {"status": LoginStatus.AUTHENTICATED.value, "token": token}}}
    )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_bare_app() -> Starlette:
    url = get_settings().resolved_database_url

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=tortoise_config(url)):
            freeze_startup_objects()  # the same runtime settings as the portal's server
            yield

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/me", me, methods=["POST"]),
            Route("/users", users, methods=["POST"]),
            Route("/verify", verify, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
