"""A confirm sent twice (two tabs, a double click): the first enrolls, the second answers
a clear error and counts nothing; no failure, no lock, no TOTP_VERIFICATION_FAILED after
the enrollment's own success. Concurrent and sequential, two pending tokens or one."""

import asyncio

from gql_portal.accounts.models import User
from gql_portal.audit.models import AuditEvent
from gql_portal.two_factor.models import TotpAuthenticator
from tests.factories import code_for, make_domain, make_user, secret_from_uri
from tests.graphql import GraphQLClient, Result
from tests.two_factor.helpers import CONFIRM, align_to_step_start, begin, login

ALREADY_ENROLLED = "An authenticator is already enrolled"


async def _two_tabs(client: GraphQLClient, *, same_token: bool) -> tuple[User, str, list[str]]:
    """A user logged in twice (or once), the enrollment begun in the first tab:
    (user, the current code, the token each tab holds)."""
    align_to_step_start()
    user = await make_user(await make_domain(two_factor=True), two_factor_enabled=True)
    first = (await login(client, user.email))["token"]
    second = first if same_token else (await login(client, user.email))["token"]
    enrollment = await begin(client, first)
    return user, code_for(secret_from_uri(enrollment["otpauthUri"])), [first, second]


async def _confirm(client: GraphQLClient, token: str, code: str) -> Result:
    return await client.execute(CONFIRM, {"code": code}, token=token)


async def _assert_enrolled_once_and_nothing_counted(user: User, results: list[Result]) -> None:
    won = [r for r in results if not r.errors]
    lost = [r for r in results if r.errors]
    assert len(won) == 1 and len(lost) == 1, [r.body for r in results]
    assert won[0].data["confirmTotpEnrollment"]["status"] == "AUTHENTICATED"
    assert lost[0].code in {"BAD_USER_INPUT", "UNAUTHENTICATED"}, lost[0].body
    assert lost[0].code != "INVALID_CODE"
    if lost[0].code == "BAD_USER_INPUT":
        assert lost[0].errors[0]["message"].startswith(ALREADY_ENROLLED)
    await user.refresh_from_db()
    assert (user.code_failures, user.code_locked_until) == (0, None)
    assert await TotpAuthenticator.filter(user_id=user.id).count() == 1
    assert not await AuditEvent.filter(action="TOTP_VERIFICATION_FAILED").exists()
    assert await AuditEvent.filter(action="TOTP_ENROLLED", target_id=user.id).count() == 1


async def test_two_tabs_confirm_at_once(client: GraphQLClient) -> None:
    user, code, tokens = await _two_tabs(client, same_token=False)
    results = await asyncio.gather(*(_confirm(client, token, code) for token in tokens))
    await _assert_enrolled_once_and_nothing_counted(user, list(results))


async def test_two_tabs_confirm_one_after_the_other(client: GraphQLClient) -> None:
    user, code, tokens = await _two_tabs(client, same_token=False)
    results = [await _confirm(client, token, code) for token in tokens]
    await _assert_enrolled_once_and_nothing_counted(user, results)
    assert results[1].code == "BAD_USER_INPUT"


async def test_a_double_click_confirms_once(client: GraphQLClient) -> None:
    user, code, tokens = await _two_tabs(client, same_token=True)
    results = await asyncio.gather(*(_confirm(client, token, code) for token in tokens))
    await _assert_enrolled_once_and_nothing_counted(user, list(results))


async def test_a_resubmitted_confirm_answers_the_token_was_used(client: GraphQLClient) -> None:
    user, code, tokens = await _two_tabs(client, same_token=True)
    results = [await _confirm(client, token, code) for token in tokens]
    await _assert_enrolled_once_and_nothing_counted(user, results)
    assert results[1].code == "UNAUTHENTICATED"
