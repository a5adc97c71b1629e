"""Password spraying (issue 11, point 5): a per-IP failure limit in the database, a
bounded hashing queue that refuses at once, and a fixed number of hashes per login."""

import asyncio
import threading
import time
from collections import Counter
from datetime import timedelta

from prometheus_client import REGISTRY
from starlette.applications import Starlette

from gql_portal import clock
from gql_portal.accounts import passwords
from gql_portal.accounts.models import LoginIpThrottle, LoginThrottle
from gql_portal.accounts.throttle import throttle_key
from gql_portal.settings import get_settings
from tests.accounts.login_clients import client_from, portal_settings
from tests.database import TestDatabase
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient, Result
from tests.two_factor.helpers import try_login

WRONG = "not-the-password-at-all"


def _retry_after(result: Result) -> int:
    return int(result.errors[0]["extensions"]["retryAfter"])


def _verifications() -> float:
    return REGISTRY.get_sample_value("gql_portal_password_verifications_total") or 0.0


async def test_the_ip_limit_is_exact_under_concurrency_and_per_ip(
    app: Starlette, database: TestDatabase
) -> None:
    limit = get_settings().login_ip_max_failures
    assert limit == 100
    before = _verifications()
    # A queue with room for all of them: only the IP limit may refuse here.
    with portal_settings(password_hash_queue=1000):
        async with client_from(app, "192.0.2.10") as sprayer:
            results = await asyncio.gather(
                *(try_login(sprayer, f"victim{i}@sprayed.example", WRONG) for i in range(130))
            )
            assert Counter(result.code for result in results) == {
                "INVALID_CREDENTIALS": 100,
                "TOO_MANY_ATTEMPTS": 30,
            }
            refused = [result for result in results if result.code == "TOO_MANY_ATTEMPTS"]
            assert all(590 <= _retry_after(result) <= 601 for result in refused)
            # Refused before any hash and before the email was counted.
            assert _verifications() - before == 100 * passwords.VERIFICATIONS_PER_LOGIN
            assert await LoginThrottle.all().count() == 100
            assert (await LoginIpThrottle.get(ip="192.0.2.10")).failures == 100
            # Even a real account's right password waits for the window's end.
            domain = await make_domain()
            user = await make_user(domain)
            assert (await try_login(sprayer, user.email)).code == "TOO_MANY_ATTEMPTS"
            async with client_from(app, "192.0.2.11") as neighbour:
                assert (await try_login(neighbour, "x@sprayed.example", WRONG)).code == (
                    "INVALID_CREDENTIALS"
                )
                assert (await try_login(neighbour, user.email)).ok()
            clock.travel(timedelta(minutes=get_settings().login_ip_window_minutes, seconds=1))
            assert (await try_login(sprayer, user.email)).ok()


async def test_the_ip_limit_comes_through_a_trusted_proxy(
    app: Starlette, database: TestDatabase
) -> None:
    with portal_settings(trusted_proxies="10.0.0.0/8", login_ip_max_failures=3):
        async with client_from(app, "10.1.2.3") as proxy:

            async def through(client_ip: str) -> str:
                result = await proxy.execute(
                    "mutation($e:String!,$p:String!){login(email:$e,password:$p){status}}",
                    {"e": "nobody@sprayed.example", "p": WRONG},
                    headers={"X-Forwarded-For": client_ip},
                )
                return result.code

            assert [await through("198.51.100.1") for _ in range(4)] == [
                "INVALID_CREDENTIALS",
                "INVALID_CREDENTIALS",
                "INVALID_CREDENTIALS",
                "TOO_MANY_ATTEMPTS",
            ]
            # Another client behind the same proxy has its own count (the email's is shared).
            assert await through("198.51.100.2") == "INVALID_CREDENTIALS"
    assert {row.ip for row in await LoginIpThrottle.all()} == {"198.51.100.1", "198.51.100.2"}


async def test_successful_logins_give_their_count_back(client: GraphQLClient) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    with portal_settings(login_ip_max_failures=3):
        for _ in range(5):
            assert (await try_login(client, user.email)).ok()
        for _ in range(3):
            assert (await try_login(client, "no@sprayed.example", WRONG)).code == (
                "INVALID_CREDENTIALS"
            )
        assert (await try_login(client, user.email)).code == "TOO_MANY_ATTEMPTS"


async def test_a_full_hashing_queue_answers_at_once_and_counts_nothing(
    app: Starlette, database: TestDatabase
) -> None:
    with portal_settings(password_hash_queue=2):
        threads = get_settings().password_hash_threads
        places = threads + 2
        # Every hashing thread busy: the pool's own threads, held by work the test releases.
        release = threading.Event()
        busy = [passwords._pool().submit(release.wait, 30) for _ in range(threads)]
        try:
            async with client_from(app, "192.0.2.20") as waiting_client:
                waiting = [
                    asyncio.create_task(try_login(waiting_client, f"w{i}@queue.example", WRONG))
                    for i in range(places)
                ]
                for _ in range(500):
                    if passwords.hashing_places_taken() == places:
                        break
                    await asyncio.sleep(0.01)
                assert passwords.hashing_places_taken() == places
                async with client_from(app, "192.0.2.21") as late:
                    started = time.monotonic()
                    refused = await try_login(late, "late@queue.example", WRONG)
                    answered_in = time.monotonic() - started
                assert refused.code == "TOO_MANY_ATTEMPTS" and _retry_after(refused) == 1
                # At once: while the queued logins still wait for a thread.
                assert not any(task.done() for task in waiting)
                assert answered_in < 5
                # Nothing counted for the refused login, neither its IP nor its email.
                assert await LoginIpThrottle.get_or_none(ip="192.0.2.21") is None
                late_key = throttle_key("late@queue.example")
                assert await LoginThrottle.get_or_none(key=late_key) is None
                release.set()
                finished = await asyncio.gather(*waiting)
                assert {result.code for result in finished} == {"INVALID_CREDENTIALS"}
                assert await LoginThrottle.get_or_none(key=late_key) is None
                assert passwords.hashing_places_taken() == 0
                async with client_from(app, "192.0.2.21") as late:
                    answer = await try_login(late, "late@queue.example", WRONG)
                    assert answer.code == "INVALID_CREDENTIALS"
        finally:
            release.set()
            for future in busy:
                future.result(timeout=30)


async def test_every_login_costs_the_same_number_of_verifications(
    client: GraphQLClient,
) -> None:
    first, second = await make_domain(), await make_domain()
    once = await make_user(first, "once@people.example")
    shared = "twice@people.example"
    in_first = await make_user(first, shared, password="first-domain-password")
    in_second = await make_user(second, shared, password="second-domain-password")

    async def cost(email: str, password: str) -> tuple[float, Result]:
        before = _verifications()
        result = await try_login(client, email, password)
        return _verifications() - before, result

    attempts = {
        "unknown": ("nobody@people.example", WRONG),
        "once, wrong": (once.email, WRONG),
        "once, right": (once.email, PASSWORD),
        "twice, wrong": (shared, WRONG),
        "twice, first": (shared, "first-domain-password"),
        "twice, second": (shared, "second-domain-password"),
    }
    costs = {}
    for name, (email, password) in attempts.items():
        costs[name], result = await cost(email, password)
        if name == "twice, first":
            assert result.ok()["login"]["user"]["id"] == str(in_first.id)
        if name == "twice, second":
            # The password still picks the account of an email in two domains.
            assert result.ok()["login"]["user"]["id"] == str(in_second.id)
    assert set(costs.values()) == {passwords.VERIFICATIONS_PER_LOGIN}, costs
