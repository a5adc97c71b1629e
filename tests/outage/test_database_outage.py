"""The database cut off under live traffic (CONTRACT section 8): real sockets, real clients,
the test database refusing connections and its open ones killed, then allowed back."""

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from httpx_ws import aconnect_ws

from gql_portal.accounts.models import Role, User
from gql_portal.app import create_app
from gql_portal.audit.models import AuditEvent
from tests.conftest import TEST_DATABASE_URL
from tests.database import TestDatabase
from tests.factories import PASSWORD, make_domain, make_user
from tests.outage.support import cut_off, live_server, restore
from tests.two_factor.helpers import DISABLE_USER, ENABLE_USER

pytestmark = [
    pytest.mark.skipif(TEST_DATABASE_URL is None, reason="needs PostgreSQL to cut off"),
    pytest.mark.usefixtures("database"),
]

LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"
ME = "{ me { email } }"
WATCH = "subscription Watch($id: ID!) { bulkJob(id: $id) { id status } }"
# Generous: the machine is shared; a healthy answer while down takes some milliseconds.
DOWN_ANSWER_BOUND_SECONDS = 5.0
RECOVERY_BOUND_SECONDS = 10.0


@dataclass
class Traffic:
    answers: list[tuple[float, int, dict[str, Any], httpx.Headers, float]] = field(
        default_factory=list
    )
    # (user id, "enable"/"disable") of every mutation that answered success.
    succeeded: list[tuple[int, str]] = field(default_factory=list)
    stop: bool = False


async def _post(
    http: httpx.AsyncClient, traffic: Traffic, query: str, variables: dict[str, Any], token: str
) -> dict[str, Any]:
    started = time.monotonic()
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    traffic.answers.append(
        (started, response.status_code, body, response.headers, time.monotonic() - started)
    )
    return body


async def _toggler(base: str, traffic: Traffic, token: str, user_ids: list[int]) -> None:
    """One client toggling its own users' 2FA, one mutation at a time."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        turn = 0
        while not traffic.stop:
            user_id = user_ids[turn % len(user_ids)]
            action = "enable" if (turn // len(user_ids)) % 2 == 0 else "disable"
            document = ENABLE_USER if action == "enable" else DISABLE_USER
            body = await _post(http, traffic, document, {"id": str(user_id)}, token)
            if not body.get("errors"):
                traffic.succeeded.append((user_id, action))
            turn += 1
            await asyncio.sleep(0.005)


async def _reader(base: str, traffic: Traffic, token: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        while not traffic.stop:
            await _post(http, traffic, ME, {}, token)
            await asyncio.sleep(0.005)


async def _subscribe_while_down(base: str, token: str) -> dict[str, Any]:
    async with (
        httpx.AsyncClient(base_url=base, timeout=30) as http,
        aconnect_ws(f"{base}/graphql", http, subprotocols=["graphql-transport-ws"]) as ws,
    ):
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send_json(init)
        assert (await ws.receive_json())["type"] == "connection_ack"
        watch = {"query": WATCH, "variables": {"id": "00000000-0000-0000-0000-000000000000"}}
        await ws.send_json({"id": "1", "type": "subscribe", "payload": watch})
        return dict(await asyncio.wait_for(ws.receive_json(), timeout=15))


async def _until(
    condition: Callable[[], bool],
    failure: str,
    clients: list["asyncio.Task[None]"],
    timeout: float = 60,
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for client in clients:
            if client.done():
                client.result()  # a client met an answer outside the contract: show it
        assert time.monotonic() < deadline, failure
        await asyncio.sleep(0.05)


def _count_since(traffic: Traffic, since: float, status: int | None = None) -> int:
    return sum(1 for a in traffic.answers if a[0] > since and (status is None or a[1] == status))


def _assert_contract_answer(status: int, body: dict[str, Any], headers: httpx.Headers) -> None:
    """Success, or SERVICE_UNAVAILABLE over 503 with Retry-After and a request id."""
    if status == 200:
        assert not body.get("errors"), body
        return
    assert status == 503, body
    assert int(headers["retry-after"]) >= 1
    codes = {error["extensions"]["code"] for error in body["errors"]}
    assert codes == {"SERVICE_UNAVAILABLE"}, body
    for error in body["errors"]:
        assert error["extensions"]["requestId"] == headers["x-request-id"]
        assert "asyncpg" not in str(error) and "connection" not in error["message"].lower()


async def test_a_database_outage_under_live_traffic(database: TestDatabase) -> None:
    domain = await make_domain(two_factor=True)
    admin = await make_user(domain, roles=[Role.SECURITY_ADMIN])
    targets = [(await make_user(domain)).id for _ in range(12)]
    app = create_app(manage_database=False)
    traffic = Traffic()
    async with live_server(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as http:
        login = await http.post(
            "/graphql", json={"query": LOGIN, "variables": {"e": admin.email, "p": PASSWORD}}
        )
        token = login.json()["data"]["login"]["token"]
        clients = [
            *(_toggler(base, traffic, token, targets[i::4]) for i in range(4)),
            *(_reader(base, traffic, token) for _ in range(2)),
        ]
        tasks = [asyncio.create_task(client) for client in clients]
        await _until(lambda: len(traffic.succeeded) >= 8, "no mutation succeeded before", tasks)

        await cut_off(database)
        # From here every connection is refused or dead: a request sent while the door was
        # still closing could have been served.
        cut_at = time.monotonic()
        try:
            await _until(
                lambda: _count_since(traffic, cut_at + 0.5) >= 30, "no answer while down", tasks
            )
            ready = await http.get("/readyz")
            auth = {"authorization": f"Bearer {token}"}
            down_export = await http.get("/audit/export", headers=auth)
            down_get = await http.get("/graphql", params={"query": ME}, headers=auth)
            down_ws = await _subscribe_while_down(base, token)
        finally:
            restored_at = time.monotonic()
            await restore(database)
        await _until(lambda: _count_since(traffic, restored_at, 200) >= 8, "no recovery", tasks)
        traffic.stop = True
        await asyncio.gather(*tasks)
        after = await http.post(
            "/graphql", json={"query": ME}, headers={"authorization": f"Bearer {token}"}
        )
        ready_after = await http.get("/readyz")

    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "down"
    assert ready_after.status_code == 200, ready_after.json()
    assert down_export.status_code == 503 and down_export.headers["retry-after"] == "1"
    assert down_export.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    # strawberry's view (GET) answers like the fast path.
    assert down_get.status_code == 503 and down_get.headers["retry-after"] == "1"
    _assert_contract_answer(down_get.status_code, down_get.json(), down_get.headers)
    # Over WebSocket: the subscription's error carries the same code.
    assert down_ws["type"] in ("error", "next"), down_ws
    ws_errors = down_ws["payload"] if down_ws["type"] == "error" else down_ws["payload"]["errors"]
    assert [error["extensions"]["code"] for error in ws_errors] == ["SERVICE_UNAVAILABLE"]
    assert ws_errors[0]["extensions"]["requestId"], ws_errors
    assert after.status_code == 200 and after.json()["data"]["me"]["email"] == admin.email

    for _, status, body, headers, _ in traffic.answers:
        _assert_contract_answer(status, body, headers)
    # Requests sent well inside the outage (the first ones may have been served before
    # the connections died) and answered before the database was let back in (one sent
    # just before may reach it after, and be served) all answered 503, each within the bound.
    while_down = [a for a in traffic.answers if cut_at + 0.5 < a[0] and a[0] + a[4] < restored_at]
    served = [(a[0] - restored_at, a[4]) for a in while_down if a[1] != 503]
    assert len(while_down) >= 20 and not served, served
    slowest_down = max(a[4] for a in while_down)
    assert slowest_down < DOWN_ANSWER_BOUND_SECONDS
    # The first success after the database came back, with no restart.
    recovered = min(a[0] + a[4] for a in traffic.answers if a[0] > restored_at and a[1] == 200)
    recovery = recovered - restored_at
    assert recovery < RECOVERY_BOUND_SECONDS
    median_down = statistics.median(a[4] for a in while_down)
    print(
        f"\noutage: {len(while_down)} answers while down, median {median_down * 1000:.0f} ms, "
        f"slowest {slowest_down * 1000:.0f} ms; "
        f"first success {recovery * 1000:.0f} ms after the database was allowed back"
    )

    # Every mutation that answered success is committed with its event, nothing half-written.
    await _assert_consistent(targets, traffic)


def _changes_answered(traffic: Traffic, user_id: int) -> Counter[str]:
    """Changes the successful answers prove: a success that finds the state unchanged (an
    enable after a refused disable) changes nothing and writes no event."""
    changes: Counter[str] = Counter()
    enabled = False
    for answered_user, action in traffic.succeeded:
        if answered_user == user_id and (action == "enable") != enabled:
            enabled = action == "enable"
            changes[action] += 1
    return changes


async def _assert_consistent(targets: list[int], traffic: Traffic) -> None:
    events = await AuditEvent.filter(
        target_id__in=targets,
        action__in=["USER_TWO_FACTOR_ENABLED", "USER_TWO_FACTOR_DISABLED"],
    ).order_by("id")
    by_user: dict[int, list[str]] = {user_id: [] for user_id in targets}
    for event in events:
        by_user[event.target_id].append(  # type: ignore[index]
            "enable" if event.action == "USER_TWO_FACTOR_ENABLED" else "disable"
        )
    for user in await User.filter(id__in=targets):
        history = by_user[user.id]
        # Each event is a change: enabled and disabled alternate, starting from disabled.
        assert history == ["enable", "disable"] * (len(history) // 2) + ["enable"] * (
            len(history) % 2
        ), history
        assert user.two_factor_enabled == (bool(history) and history[-1] == "enable")
        changes = _changes_answered(traffic, user.id)
        for action in ("enable", "disable"):
            assert changes[action] <= history.count(action), (changes, history)
    enabled_now = await User.filter(id__in=targets, two_factor_enabled=True).count()
    assert enabled_now == sum(1 for h in by_user.values() if h and h[-1] == "enable")
