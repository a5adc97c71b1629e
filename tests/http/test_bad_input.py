"""Input no database can take answers a contract error with its request id, never a masked
internal error (CONTRACT section 5). Each case below answered INTERNAL_SERVER_ERROR or a
plain 500 on SQLite, PostgreSQL or both."""

import asyncio
import base64
import json
from typing import Any

import pytest
from httpx_ws import WebSocketDisconnect
from starlette.applications import Starlette

from gql_portal.accounts.models import Role
from gql_portal.audit.models import AuditEvent
from gql_portal.bulk.models import BulkJob
from tests.bulk.test_subscription import websocket
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import LOGIN, GraphQLClient, Result

REQUEST_ID = "bad-input-0123"
USERS = "query($filter: UserFilter, $after: String) { users(filter: $filter, after: $after) "
USERS += "{ edges { node { email } } } }"
EVENTS = "query($filter: AuditEventFilter, $after: String) { auditEvents(filter: $filter, "
EVENTS += "after: $after) { edges { node { id } } } }"
SUMMARY = (
    "query($filter: AuditEventFilter) { auditSummary(bucket: DAY, filter: $filter) { count } }"
)
BULK_START = "mutation($filter: BulkUserFilter) { startBulkTwoFactorEnablement(dryRun: true, "
BULK_START += "filter: $filter) { id } }"
BULK_JOBS = "query($after: String) { bulkJobs(after: $after) { edges { cursor } } }"


async def _admin_token(client: GraphQLClient) -> str:
    domain = await make_domain(two_factor=True)
    admin = await make_user(
        domain, roles=[Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN, Role.AUDITOR], display_name="Ada"
    )
    return str((await client.login(admin.email, PASSWORD))["token"])


async def _send(client: GraphQLClient, body: str | dict[str, Any], token: str | None) -> Result:
    headers = {"content-type": "application/json", "x-request-id": REQUEST_ID}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    content = body if isinstance(body, str) else json.dumps(body)
    response = await client.http.post("/graphql", content=content, headers=headers)
    return Result(response.status_code, response.json(), response.headers)


def _refused(result: Result, code: str = "BAD_USER_INPUT") -> dict[str, Any]:
    """One contract error with the request's id; nothing of Python in the answer."""
    assert result.status < 500, result.body
    assert result.code == code, result.body
    extensions: dict[str, Any] = result.errors[0]["extensions"]
    assert extensions["requestId"] == REQUEST_ID == result.headers["x-request-id"]
    raw = json.dumps(result.body)
    for leak in ("Traceback", "Error:", "sys.set_int_max_str_digits", "0x00"):
        assert leak not in raw, raw
    return extensions


def _cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


async def test_a_number_of_5000_digits(client: GraphQLClient) -> None:
    token = await _admin_token(client)
    digits = "7" * 5000  # past Python's int-string conversion limit (4,300 digits)
    in_variables = '{"query": "query($n: Int) { users(first: $n) { edges { cursor } } }", '
    in_variables += '"variables": {"n": ' + digits + "}}"
    _refused(await _send(client, in_variables, token))
    as_literal = {"query": "{ users(first: " + digits + ") { edges { cursor } } }"}
    result = await _send(client, as_literal, token)
    _refused(result)
    assert digits not in json.dumps(result.body)


@pytest.mark.parametrize(
    ("field", "value"),
    [("since", "0001-01-01T00:00:00+14:00"), ("until", "9999-12-31T23:59:59-14:00")],
)
async def test_times_that_overflow_on_their_way_to_utc(
    client: GraphQLClient, field: str, value: str
) -> None:
    token = await _admin_token(client)
    for query in (EVENTS, SUMMARY):
        result = await _send(
            client, {"query": query, "variables": {"filter": {field: value}}}, token
        )
        assert _refused(result)["field"] == field


async def test_a_search_longer_than_any_email(client: GraphQLClient) -> None:
    token = await _admin_token(client)
    # 90,000 characters: SQLite refuses the LIKE pattern ("too complex") past 50,000 bytes.
    result = await _send(
        client, {"query": USERS, "variables": {"filter": {"search": "a%" * 45_000}}}, token
    )
    assert _refused(result)["field"] == "search"
    found = await _send(client, {"query": USERS, "variables": {"filter": {"search": "ADA"}}}, token)
    assert len(found.ok()["users"]["edges"]) == 1


async def test_a_role_repeated_1000_times(client: GraphQLClient) -> None:
    token = await _admin_token(client)
    # Each value was one OR: SQLite refuses an expression tree 1,000 deep.
    many = {"query": USERS, "variables": {"filter": {"roles": ["AUDITOR"] * 1000}}}
    assert _refused(await _send(client, many, token))["field"] == "roles"
    some = {"query": USERS, "variables": {"filter": {"roles": ["AUDITOR", "USER"] * 50}}}
    assert len((await _send(client, some, token)).ok()["users"]["edges"]) == 1
    actions = {"query": EVENTS, "variables": {"filter": {"actions": ["LOGOUT"] * 1000}}}
    assert _refused(await _send(client, actions, token))["field"] == "actions"


@pytest.mark.parametrize("bad", ["\x00", "\ud800"], ids=["NUL", "lone surrogate"])
async def test_text_no_database_can_store(client: GraphQLClient, bad: str) -> None:
    """PostgreSQL refuses NUL in text; no driver encodes a lone surrogate (SQLite either)."""
    token = await _admin_token(client)
    before = await AuditEvent.all().count()
    cases = [
        (LOGIN, {"email": f"a{bad}@b.example", "password": "whatever-password"}, None),
        (LOGIN, {"email": "a@b.example", "password": f"pass{bad}word-long"}, None),
        (USERS, {"filter": {"search": f"a{bad}"}}, token),
        (EVENTS, {"filter": {"ip": f"10.0.0.1{bad}"}}, token),
        (EVENTS, {"filter": {"actorId": f"1{bad}"}}, token),
    ]
    for query, variables, sent_token in cases:
        result = await _send(client, {"query": query, "variables": variables}, sent_token)
        _refused(result)
    # A cursor is client input too: a forged one carries the same characters.
    forged = {"query": USERS, "variables": {"after": _cursor("user", f"a{bad}")}}
    assert _refused(await _send(client, forged, token))["field"] == "after"
    if bad == "\x00":  # a GraphQL string literal cannot hold a surrogate, only NUL
        literal = {"query": '{ users(filter: {search: "a\\u0000"}) { edges { cursor } } }'}
        _refused(await _send(client, literal, token))
    assert await AuditEvent.all().count() == before  # refused before anything was written


async def test_ids_beyond_the_databases_integer(client: GraphQLClient) -> None:
    """users.id is PostgreSQL's 4-byte integer: 2^31 was "integer out of range"."""
    token = await _admin_token(client)
    for raw in ("2147483648", "99999999999999", "0"):
        lookup = await _send(client, {"query": f'{{ user(id: "{raw}") {{ id }} }}'}, token)
        _refused(lookup, "NOT_FOUND")
        for field in ("enableUserTwoFactor", "disableUserTwoFactor", "resetUserTwoFactor"):
            query = f'mutation {{ {field}(userId: "{raw}") {{ id }} }}'
            _refused(await _send(client, {"query": query}, token), "NOT_FOUND")
        for name in ("actorId", "targetUserId"):
            result = await _send(
                client, {"query": EVENTS, "variables": {"filter": {name: raw}}}, token
            )
            assert _refused(result)["field"] == name
        bulk = {"query": BULK_START, "variables": {"filter": {"userIds": [raw]}}}
        assert _refused(await _send(client, bulk, token))["field"] == "userIds"
    assert await BulkJob.all().count() == 0
    largest = await _send(client, {"query": '{ user(id: "2147483647") { id } }'}, token)
    _refused(largest, "NOT_FOUND")  # the largest key that can exist is looked up


async def test_forged_cursors_out_of_range(client: GraphQLClient) -> None:
    token = await _admin_token(client)
    forged = [
        (EVENTS, _cursor("audit", "0001-01-01T00:00:00+14:00", 5)),
        (EVENTS, _cursor("audit", "2026-01-01T00:00:00+00:00", 2**63)),
        (EVENTS, _cursor("audit", "2026-01-01T00:00:00", 5)),
        (
            BULK_JOBS,
            _cursor("bulkjob", "9999-12-31T23:59:59-14:00", "6b3c1f4e-0000-4000-8000-000000000000"),
        ),
        (
            BULK_JOBS,
            _cursor("bulkjob", "2026-01-01T00:00:00", "6b3c1f4e-0000-4000-8000-000000000000"),
        ),
    ]
    for query, cursor in forged:
        result = await _send(client, {"query": query, "variables": {"after": cursor}}, token)
        assert _refused(result)["field"] == "after", cursor


async def test_the_same_rules_over_a_websocket(client: GraphQLClient, app: Starlette) -> None:
    token = await _admin_token(client)
    watch = "subscription($id: ID!) { bulkJob(id: $id) { id } }"
    async with websocket(app) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send_json(init)
        assert (await ws.receive_json())["type"] == "connection_ack"
        payload = {"query": watch, "variables": {"id": "a\x00"}}
        await ws.send_json({"id": "nul", "type": "subscribe", "payload": payload})
        answer = await asyncio.wait_for(ws.receive_json(), timeout=10)
        assert answer["type"] == "error"
        assert answer["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        # Python parses no 5,000-digit integer: a message that holds one is not JSON here.
        await ws.send_text('{"id": "n", "type": "subscribe", "payload": ' + "9" * 5000 + "}")
        with pytest.raises(WebSocketDisconnect) as closed:
            await asyncio.wait_for(ws.receive_json(), timeout=10)
        assert closed.value.code == 4400
