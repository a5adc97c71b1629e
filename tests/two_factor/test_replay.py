"""A code is accepted once: sequentially, and under concurrent requests."""

import asyncio
from collections import Counter

from gql_portal import clock
from gql_portal.accounts.models import User
from gql_portal.two_factor import totp
from gql_portal.two_factor.models import RecoveryCode, TotpAuthenticator
from tests.factories import code_for, make_domain, make_user, secret_from_uri
from tests.graphql import GraphQLClient
from tests.two_factor.helpers import (
    CONFIRM,
    REGENERATE,
    VERIFY_RECOVERY,
    align_to_step_start,
    begin,
    enrolled_user,
    login,
    next_step,
    pending_totp_token,
    verify,
)


async def test_same_code_twice_second_is_invalid(client: GraphQLClient) -> None:
    align_to_step_start()
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    code = code_for(enrolled.secret, steps_ahead=1)
    first = await verify(client, await pending_totp_token(client, user.email), code)
    assert first.ok()["verifyTotp"]["status"] == "AUTHENTICATED"
    second = await verify(client, await pending_totp_token(client, user.email), code)
    assert second.code == "INVALID_CODE"
    assert (await User.get(id=user.id)).code_failures == 1  # a replay counts as a wrong code


async def test_confirmation_code_cannot_be_replayed(client: GraphQLClient) -> None:
    align_to_step_start()
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    replay = await verify(
        client, await pending_totp_token(client, user.email), code_for(enrolled.secret)
    )
    assert replay.code == "INVALID_CODE"


async def test_older_step_after_newer_is_invalid(client: GraphQLClient) -> None:
    align_to_step_start()
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    next_step()  # now at T+1; T (confirmation), T+1 and T+2 are all inside the window
    step = totp.time_step(clock.utcnow())
    newer = totp.code_at_step(enrolled.secret, step + 1)
    older = totp.code_at_step(enrolled.secret, step)
    assert (await verify(client, await pending_totp_token(client, user.email), newer)).ok()
    result = await verify(client, await pending_totp_token(client, user.email), older)
    assert result.code == "INVALID_CODE"
    authenticator = await TotpAuthenticator.get(user_id=user.id)
    assert authenticator.last_used_step == step + 1


async def test_regenerate_recovery_codes_consumes_the_step(client: GraphQLClient) -> None:
    align_to_step_start()
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    code = code_for(enrolled.secret, steps_ahead=1)
    fresh = (await client.execute(REGENERATE, {"code": code}, token=enrolled.token)).ok()
    new_codes = fresh["regenerateRecoveryCodes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(enrolled.recovery_codes)
    assert (await client.execute(REGENERATE, {"code": code}, token=enrolled.token)).code == (
        "INVALID_CODE"
    )
    assert (await verify(client, await pending_totp_token(client, user.email), code)).code == (
        "INVALID_CODE"
    )
    pending = await pending_totp_token(client, user.email)
    old = await client.execute(VERIFY_RECOVERY, {"code": enrolled.recovery_codes[0]}, token=pending)
    assert old.code == "INVALID_CODE"
    assert await RecoveryCode.filter(user_id=user.id, used_at=None).count() == 10


async def test_concurrent_verifications_of_one_code_exactly_one_wins(client: GraphQLClient) -> None:
    align_to_step_start()
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    tokens = [await pending_totp_token(client, user.email) for _ in range(20)]
    code = code_for(enrolled.secret, steps_ahead=1)
    results = await asyncio.gather(*(verify(client, token, code) for token in tokens))
    winners = [r for r in results if not r.errors]
    assert len(winners) == 1, [r.body for r in results]
    assert winners[0].data["verifyTotp"]["status"] == "AUTHENTICATED"
    losers = Counter(r.code for r in results if r.errors)
    assert set(losers) <= {"INVALID_CODE", "TOO_MANY_ATTEMPTS"}
    assert sum(losers.values()) == 19
    # Every loser was evaluated and counted, up to the lock; none slipped through.
    stored = await User.get(id=user.id)
    assert stored.code_failures == losers["INVALID_CODE"] <= 5


async def test_concurrent_confirmations_exactly_one_wins(client: GraphQLClient) -> None:
    align_to_step_start()
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, two_factor_enabled=True)
    token = (await login(client, user.email))["token"]
    secret = secret_from_uri((await begin(client, token))["otpauthUri"])
    code = code_for(secret)
    results = await asyncio.gather(
        *(client.execute(CONFIRM, {"code": code}, token=token) for _ in range(10))
    )
    assert sum(1 for r in results if not r.errors) == 1, [r.body for r in results]
    # The losers raced the exchange of their own token: a dead token (or, seen after the
    # commit, no enrollment left to confirm), never a counted wrong guess.
    losers = {r.code for r in results if r.errors}
    assert losers <= {"UNAUTHENTICATED", "BAD_USER_INPUT"}, [r.body for r in results]
    assert (await User.get(id=user.id)).code_failures == 0
    assert await TotpAuthenticator.filter(user_id=user.id).count() == 1
    assert await RecoveryCode.filter(user_id=user.id).count() == 10


async def test_concurrent_use_of_one_recovery_code_exactly_one_wins(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    tokens = [await pending_totp_token(client, user.email) for _ in range(10)]
    code = enrolled.recovery_codes[0]
    results = await asyncio.gather(
        *(client.execute(VERIFY_RECOVERY, {"code": code}, token=token) for token in tokens)
    )
    assert sum(1 for r in results if not r.errors) == 1, [r.body for r in results]
    assert {r.code for r in results if r.errors} <= {"INVALID_CODE", "TOO_MANY_ATTEMPTS"}
    assert await RecoveryCode.filter(user_id=user.id, used_at=None).count() == 9


async def test_concurrent_verifications_with_one_token_are_not_counted(
    client: GraphQLClient,
) -> None:
    align_to_step_start()
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    token = await pending_totp_token(client, user.email)
    code = code_for(enrolled.secret, steps_ahead=1)
    results = await asyncio.gather(*(verify(client, token, code) for _ in range(10)))
    assert sum(1 for r in results if not r.errors) == 1, [r.body for r in results]
    # The losers raced the exchange of their own token: read under the lock (after the
    # winner's commit), it is dead; none of them counts as a wrong guess.
    assert {r.code for r in results if r.errors} == {"UNAUTHENTICATED"}, [r.body for r in results]
    assert (await User.get(id=user.id)).code_failures == 0
