"""Audit events written straight into the table, and signed-in readers."""

from datetime import datetime, timedelta
from typing import Any

from tortoise import connections

from gql_portal.accounts.models import Domain, Role, User
from gql_portal.audit.models import AuditEvent
from gql_portal.clock import utcnow
from gql_portal.sql import execute
from tests.factories import PASSWORD, make_user
from tests.graphql import GraphQLClient


async def signed_in(client: GraphQLClient, domain: Domain, *roles: Role) -> tuple[User, str]:
    user = await make_user(domain, roles=list(roles))
    return user, (await client.login(user.email, PASSWORD))["token"]


async def make_event(domain: Domain | None, **fields: Any) -> AuditEvent:
    values: dict[str, Any] = {
        "domain_id": domain.id if domain else None,
        "occurred_at": utcnow(),
        "action": "LOGOUT",
        "outcome": "SUCCESS",
    }
    values.update(fields)
    return await AuditEvent.create(**values)


async def fill_events(domain: Domain, count: int, *, start: datetime | None = None) -> None:
    """``count`` LOGIN_FAILED events one second apart, inserted by one set-based statement."""
    connection = connections.get("default")
    # Whole seconds plus 0.25 s: SQLite keeps the text form Tortoise writes for such times.
    start = (start or utcnow() - timedelta(seconds=count + 10)).replace(microsecond=250000)
    if connection.capabilities.dialect == "postgres":
        sql = (
            "INSERT INTO audit_events (domain_id, occurred_at, action, outcome, ip, target_email)"
            " SELECT ?, ?::timestamptz + n * interval '1 second', 'LOGIN_FAILED', 'FAILURE',"
            " '198.51.100.' || (n % 250), 'u' || n || '@x.example'"
            " FROM generate_series(1, ?) AS n"
        )
        await execute(connection, sql, [domain.id, start, count])
        return
    sql = (
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?)"
        " INSERT INTO audit_events (domain_id, occurred_at, action, outcome, ip, target_email)"
        " SELECT ?, strftime('%Y-%m-%d %H:%M:%S', ?, '+' || n || ' seconds') || '.250000+00:00',"
        " 'LOGIN_FAILED', 'FAILURE', '198.51.100.' || (n % 250), 'u' || n || '@x.example'"
        " FROM seq"
    )
    await execute(connection, sql, [count, domain.id, start.strftime("%Y-%m-%d %H:%M:%S")])
