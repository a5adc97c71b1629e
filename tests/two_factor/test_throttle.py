"""The code-step throttle: 5 wrong codes lock, the back-off doubles, 100 locks for good."""

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from gql_portal import clock
from gql_portal.accounts.models import User
from gql_portal.two_factor.models import TotpAuthenticator
from tests.factories import code_for, make_domain, make_user
from tests.graphql import GraphQLClient, Result
from tests.two_factor.helpers import (
    CONFIRM,
    MALFORMED_CODES,
    REGENERATE,
    RESET_USER,
    USER,
    VERIFY_RECOVERY,
    admin_token,
    align_to_step_start,
    begin,
    enrolled_user,
    login,
    me,
    pending_totp_token,
    verify,
    wrong_code,
)


def retry_after(result: Result) -> int | None:
    assert result.code == "TOO_MANY_ATTEMPTS", result.body
    value = result.errors[0].get("extensions", {}).get("retryAfter")
    return value if value is None else int(value)


async def _fail(client: GraphQLClient, token: str, secret: str, times: int) -> list[Result]:
    return [await verify(client, token, wrong_code(secret)) for _ in range(times)]


async def test_fifth_wrong_code_is_invalid_sixth_is_locked(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    token = await pending_totp_token(client, user.email)
    results = await _fail(client, token, enrolled.secret, 5)
    assert [r.code for r in results] == ["INVALID_CODE"] * 5
    locked = await verify(client, token, wrong_code(enrolled.secret))
    assert 25 <= (retry_after(locked) or 0) <= 31
    stored = await User.get(id=user.id)
    assert stored.code_failures == 5


async def test_locked_attempts_are_not_checked_counted_or_extending(client: GraphQLClient) -> None:
    align_to_step_start()
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    token = await pending_totp_token(client, user.email)
    await _fail(client, token, enrolled.secret, 5)
    before = await User.get(id=user.id)
    clock.travel(timedelta(seconds=10))
    # Even the right code is not checked while locked, and it is not consumed.
    right = code_for(enrolled.secret, steps_ahead=1)
    assert (await verify(client, token, right)).code == "TOO_MANY_ATTEMPTS"
    for _ in range(3):
        assert (
            15 <= (retry_after(await verify(client, token, wrong_code(enrolled.secret))) or 0) <= 21
        )
    after = await User.get(id=user.id)
    assert after.code_failures == before.code_failures == 5
    assert after.code_locked_until == before.code_locked_until
    assert (await TotpAuthenticator.get(user_id=user.id)).last_used_step < int(
        clock.utcnow().timestamp()
    ) // 30 + 1
    clock.travel(timedelta(seconds=21))
    result = await verify(client, token, code_for(enrolled.secret, steps_ahead=0))
    assert result.ok()["verifyTotp"]["status"] == "AUTHENTICATED"


async def test_back_off_doubles_up_to_fifteen_minutes(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    token = await pending_totp_token(client, user.email)
    await _fail(client, token, enrolled.secret, 5)
    expected = [30, 60, 120, 240, 480, 900, 900]
    for index, seconds in enumerate(expected):
        waited = retry_after(await verify(client, token, wrong_code(enrolled.secret)))
        assert waited is not None and seconds - 2 <= waited <= seconds + 1, (index, waited)
        if index == len(expected) - 1:
            break
        clock.travel(timedelta(seconds=seconds + 1))
        # The pending token lives 10 minutes: log in again when it would have died.
        token = await pending_totp_token(client, user.email)
        assert (await verify(client, token, wrong_code(enrolled.secret))).code == "INVALID_CODE"
    assert (await User.get(id=user.id)).code_failures == 5 + len(expected) - 1


async def test_success_resets_the_counter(client: GraphQLClient) -> None:
    align_to_step_start()
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    token = await pending_totp_token(client, user.email)
    assert [r.code for r in await _fail(client, token, enrolled.secret, 4)] == ["INVALID_CODE"] * 4
    assert (await verify(client, token, code_for(enrolled.secret, steps_ahead=1))).ok()
    assert (await User.get(id=user.id)).code_failures == 0
    token = await pending_totp_token(client, user.email)
    assert [r.code for r in await _fail(client, token, enrolled.secret, 4)] == ["INVALID_CODE"] * 4
    assert (await User.get(id=user.id)).code_locked_until is None


async def test_lock_is_shared_by_every_session_and_operation(client: GraphQLClient) -> None:
    align_to_step_start()
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    first = await pending_totp_token(client, user.email)
    second = await pending_totp_token(client, user.email)
    await _fail(client, first, enrolled.secret, 2)
    await _fail(client, second, enrolled.secret, 2)
    recovery = await client.execute(VERIFY_RECOVERY, {"code": "zzzz-zzzz-zzzz-zzzz"}, token=first)
    assert recovery.code == "INVALID_CODE"  # the 5th failure, through another operation
    third = await pending_totp_token(client, user.email)  # login still works while locked
    assert (await verify(client, third, code_for(enrolled.secret, steps_ahead=1))).code == (
        "TOO_MANY_ATTEMPTS"
    )
    assert (
        await client.execute(VERIFY_RECOVERY, {"code": enrolled.recovery_codes[0]}, token=third)
    ).code == ("TOO_MANY_ATTEMPTS")
    assert (
        await client.execute(
            REGENERATE, {"code": code_for(enrolled.secret, steps_ahead=1)}, token=enrolled.token
        )
    ).code == ("TOO_MANY_ATTEMPTS")


@pytest.mark.parametrize("bad", MALFORMED_CODES)
async def test_malformed_codes_are_bad_input_and_not_counted(
    client: GraphQLClient, bad: str
) -> None:
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    token = await pending_totp_token(client, user.email)
    for _ in range(6):
        assert (await verify(client, token, bad)).code == "BAD_USER_INPUT"
        assert (await client.execute(REGENERATE, {"code": bad}, token=enrolled.token)).code == (
            "BAD_USER_INPUT"
        )
    assert (await client.execute(VERIFY_RECOVERY, {"code": bad + "!"}, token=token)).code == (
        "BAD_USER_INPUT"
    )
    stored = await User.get(id=user.id)
    assert stored.code_failures == 0 and stored.code_locked_until is None


async def test_malformed_confirmation_codes_are_not_counted(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user, _ = await enrolled_user(client, domain)
    fresh = await make_user(domain, two_factor_enabled=True)
    token = (await login(client, fresh.email))["token"]
    await begin(client, token)
    for bad in ("\uff11\uff12\uff13\uff14\uff15\uff16", "12345", "1234567", "12 456"):
        assert (await client.execute(CONFIRM, {"code": bad}, token=token)).code == "BAD_USER_INPUT"
    # A document refused by validation (an Int for a String!) is not counted either.
    refused = await client.execute(
        "mutation { verifyTotp(code: 123456) { status } }",
        token=await pending_totp_token(client, user.email),
    )
    assert refused.code == "BAD_USER_INPUT"
    assert (await User.get(id=fresh.id)).code_failures == 0
    assert (await User.get(id=user.id)).code_failures == 0


async def test_concurrent_wrong_codes_evaluate_at_most_the_limit(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    tokens = [await pending_totp_token(client, user.email) for _ in range(3)]
    bad = wrong_code(enrolled.secret)
    results = await asyncio.gather(*(verify(client, tokens[i % 3], bad) for i in range(150)))
    codes = Counter(r.code for r in results)
    assert codes == {"INVALID_CODE": 5, "TOO_MANY_ATTEMPTS": 145}, codes
    assert (await User.get(id=user.id)).code_failures == 5


async def test_hard_lock_after_one_hundred_needs_an_admin_reset(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    admin, _ = await admin_token(client, domain)
    await User.filter(id=user.id).update(code_failures=99)
    token = await pending_totp_token(client, user.email)
    assert (await verify(client, token, wrong_code(enrolled.secret))).code == "INVALID_CODE"
    hard = await verify(client, token, wrong_code(enrolled.secret))
    assert retry_after(hard) is None
    clock.travel(timedelta(days=30))
    token = await pending_totp_token(client, user.email)
    assert retry_after(await verify(client, token, code_for(enrolled.secret))) is None
    shown = (
        await client.execute(
            USER, {"id": str(user.id)}, token=(await login(client, admin.email))["token"]
        )
    ).ok()
    assert shown["user"]["twoFactor"]["lockedUntil"] is not None
    reset = await client.execute(
        RESET_USER, {"id": str(user.id)}, token=(await login(client, admin.email))["token"]
    )
    assert reset.ok()["resetUserTwoFactor"]["twoFactor"]["lockedUntil"] is None
    stored = await User.get(id=user.id)
    assert stored.code_failures == 0 and stored.code_locked_until is None
    assert (await login(client, user.email))["status"] == "ENROLLMENT_REQUIRED"


async def test_locked_until_is_visible_on_user_two_factor(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    _, admin = await admin_token(client, domain)
    token = await pending_totp_token(client, user.email)
    assert (await me(client, token)).ok()["me"]["twoFactor"]["lockedUntil"] is None
    await _fail(client, token, enrolled.secret, 5)
    mine = (await me(client, token)).ok()["me"]["twoFactor"]["lockedUntil"]
    seen = (await client.execute(USER, {"id": str(user.id)}, token=admin)).ok()["user"]
    assert mine is not None and seen["twoFactor"]["lockedUntil"] == mine
    # Whatever the switch says.
    await client.execute(
        "mutation { setDomainTwoFactor(enabled: false) { twoFactorEnabled } }", token=admin
    )
    seen = (await client.execute(USER, {"id": str(user.id)}, token=admin)).ok()["user"]
    assert seen["twoFactor"]["lockedUntil"] == mine
    clock.travel(timedelta(seconds=31))
    seen = (await client.execute(USER, {"id": str(user.id)}, token=admin)).ok()["user"]
    assert seen["twoFactor"]["lockedUntil"] is None
