"""requestPasswordReset: always true, the same statements in the request whatever the email
names, a link for each active account only, throttled per email and per client IP, audited;
and no raw link token anywhere in the database."""

import asyncio
import contextlib
import logging
from collections.abc import Iterator

from starlette.applications import Starlette
from tortoise import Tortoise

from gql_portal.accounts.link_throttle import LIMITS, LinkScope
from gql_portal.accounts.models import AccountLink, AccountLinkPurpose, User
from gql_portal.accounts.password_links import finish_password_resets
from gql_portal.audit.models import AuditEvent
from gql_portal.notifications.models import Notification
from tests.accounts.links_helpers import (
    NEW_PASSWORD,
    REQUEST_RESET,
    SET_PASSWORD,
    mailed_token,
    new_link,
)
from tests.accounts.login_clients import client_from
from tests.factories import make_domain, make_user
from tests.graphql import GraphQLClient, Result


async def request_reset(client: GraphQLClient, email: str) -> Result:
    return await client.execute(REQUEST_RESET, {"email": email})


class _RequestStatements(logging.Handler):
    """The SQL the request's own task sends (the background task that writes links is
    another task: what it does is not part of the answer)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        task = asyncio.current_task()
        if task is not None and task.get_name() == "password-reset":
            return
        message = record.getMessage().lstrip()
        if message.upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):
            # The statement, not its parameters (the email and its keyed identifier).
            self.statements.append(message.split(":")[0])


@contextlib.contextmanager
def request_statements() -> Iterator[list[str]]:
    logger = logging.getLogger("tortoise.db_client")
    handler = _RequestStatements()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler.statements
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


async def test_the_answer_and_its_statements_do_not_depend_on_the_email(
    client: GraphQLClient,
) -> None:
    first, second = await make_domain(), await make_domain()
    existing = await make_user(first)
    inactive = await make_user(first)
    await User.filter(id=inactive.id).update(active=False)
    await make_user(first, "twice@shared.example")
    await make_user(second, "twice@shared.example")
    seen = {}
    for email in [existing.email, inactive.email, "twice@shared.example", "nobody@x.example"]:
        with request_statements() as statements:
            result = await request_reset(client, email.upper())
        assert result.body == {"data": {"requestPasswordReset": True}}, email
        seen[email] = statements
        await finish_password_resets()
    assert len({tuple(statements) for statements in seen.values()}) == 1, seen
    assert len(seen[existing.email]) == 2  # the client IP's count and the email's
    # Links (and their mails) for the active accounts only: one, none, one in each domain.
    links = await AccountLink.all().values_list("user_id", flat=True)
    twice = await User.filter(email_normalized="twice@shared.example").values_list("id", flat=True)
    assert sorted(links) == sorted([existing.id, *twice])
    assert await Notification.filter(kind="PASSWORD_RESET").count() == 3
    assert not await Notification.filter(user_id=inactive.id).exists()


async def test_events_for_existing_accounts_none_for_unknown_emails(client: GraphQLClient) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    inactive = await make_user(domain)
    await User.filter(id=inactive.id).update(active=False)
    for email in [user.email, inactive.email, "unknown@nowhere.example"]:
        (await request_reset(client, email)).ok()
    await finish_password_resets()
    # Each request's background work runs on its own: the events may commit in any order.
    events = await AuditEvent.filter(action="PASSWORD_RESET_REQUESTED").order_by("target_id")
    assert [(e.domain_id, e.target_id, e.details) for e in events] == [
        (domain.id, user.id, {"sent": True}),
        (domain.id, inactive.id, {"sent": False}),
    ]
    assert events[0].ip == "203.0.113.7" and events[0].actor_id is None
    assert await AuditEvent.all().count() == 2


async def test_the_mailed_link_resets_the_password(client: GraphQLClient) -> None:
    user = await make_user(await make_domain())
    (await request_reset(client, user.email)).ok()
    await finish_password_resets()
    token = await mailed_token(user, "PASSWORD_RESET")
    (await client.execute(SET_PASSWORD, {"token": token, "password": NEW_PASSWORD})).ok()
    assert (await client.login(user.email, NEW_PASSWORD))["status"] == "AUTHENTICATED"
    event = await AuditEvent.get(action="PASSWORD_CHANGED")
    assert event.details == {"via": "link", "purpose": "PASSWORD_RESET"}


async def test_a_new_request_supersedes_the_previous_link(client: GraphQLClient) -> None:
    user = await make_user(await make_domain())
    tokens = []
    for _ in range(2):
        (await request_reset(client, user.email)).ok()
        await finish_password_resets()
        tokens.append(await mailed_token(user, "PASSWORD_RESET"))
    old = await client.execute(SET_PASSWORD, {"token": tokens[0], "password": NEW_PASSWORD})
    assert old.code == "BAD_USER_INPUT"
    (await client.execute(SET_PASSWORD, {"token": tokens[1], "password": NEW_PASSWORD})).ok()


async def test_over_the_email_limit_it_answers_true_and_sends_nothing(
    client: GraphQLClient,
) -> None:
    user = await make_user(await make_domain())
    limit = LIMITS[LinkScope.RESET_EMAIL].limit
    for _ in range(limit + 2):
        assert (await request_reset(client, user.email)).ok() == {"requestPasswordReset": True}
    await finish_password_resets()
    assert await Notification.filter(kind="PASSWORD_RESET").count() == limit
    # Counted by the email's text, whatever its case or spaces.
    (await request_reset(client, f"  {user.email.upper()} ")).ok()
    await finish_password_resets()
    assert await Notification.filter(kind="PASSWORD_RESET").count() == limit


async def test_over_the_ip_limit_it_answers_too_many_attempts(
    app: Starlette, client: GraphQLClient
) -> None:
    user = await make_user(await make_domain())
    for n in range(LIMITS[LinkScope.RESET_IP].limit):
        (await request_reset(client, f"someone{n}@nowhere.example")).ok()
    refused = await request_reset(client, user.email)
    assert refused.code == "TOO_MANY_ATTEMPTS"
    assert 0 < refused.errors[0]["extensions"]["retryAfter"] <= 3600
    await finish_password_resets()
    assert not await Notification.filter(user_id=user.id).exists()
    async with client_from(app, "198.51.100.30") as other:
        (await request_reset(other, user.email)).ok()
    await finish_password_resets()
    assert await Notification.filter(user_id=user.id).count() == 1


async def test_an_empty_or_huge_email_is_bad_input(client: GraphQLClient) -> None:
    for email in ["", "   ", "a" * 400 + "@x.example"]:
        result = await request_reset(client, email)
        assert result.code == "BAD_USER_INPUT"
        assert result.errors[0]["extensions"]["field"] == "email"


async def test_no_raw_token_is_stored_anywhere(client: GraphQLClient) -> None:
    domain = await make_domain()
    invited = await make_user(domain)
    await User.filter(id=invited.id).update(password_hash="")
    resetting = await make_user(domain)
    tokens = [await new_link(invited, AccountLinkPurpose.INVITATION)]
    (await request_reset(client, resetting.email)).ok()
    await finish_password_resets()
    tokens.append(await mailed_token(resetting, "PASSWORD_RESET"))
    (await client.execute(SET_PASSWORD, {"token": tokens[0], "password": NEW_PASSWORD})).ok()
    bad = await client.execute(SET_PASSWORD, {"token": tokens[1] + "x", "password": NEW_PASSWORD})
    assert bad.code == "BAD_USER_INPUT"
    dump = []
    for model in Tortoise.apps["models"].values():
        dump += [str(row) for row in await model.all().values()]
    text = "\n".join(dump)
    assert "account_links" in {m._meta.db_table for m in Tortoise.apps["models"].values()}
    for token in tokens:
        assert token not in text and token[:20] not in text
