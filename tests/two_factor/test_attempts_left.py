from datetime import timedelta

from gql_portal import clock
from tests.factories import make_domain, make_user
from tests.graphql import GraphQLClient, Result
from tests.two_factor.helpers import (
    CONFIRM,
    begin,
    enrolled_user,
    login,
    pending_totp_token,
    verify,
    wrong_code,
)


def attempts_left(result: Result) -> object:
    assert result.code == "INVALID_CODE", result.body
    return result.errors[0]["extensions"].get("attemptsLeft")


async def test_each_wrong_code_says_how_many_attempts_are_left_before_the_lock(
    client: GraphQLClient,
) -> None:
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    token = await pending_totp_token(client, user.email)
    results = [await verify(client, token, wrong_code(enrolled.secret)) for _ in range(5)]
    assert [attempts_left(result) for result in results] == [4, 3, 2, 1, 0]
    assert (await verify(client, token, wrong_code(enrolled.secret))).code == "TOO_MANY_ATTEMPTS"
    # Once the lock has run out, the next wrong code locks again at once.
    clock.travel(timedelta(seconds=31))
    token = await pending_totp_token(client, user.email)
    assert attempts_left(await verify(client, token, wrong_code(enrolled.secret))) == 0


async def test_a_wrong_confirmation_code_says_how_many_are_left(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, two_factor_enabled=True)
    token = (await login(client, user.email))["token"]
    enrollment = await begin(client, token)
    result = await client.execute(CONFIRM, {"code": wrong_code(enrollment["secret"])}, token=token)
    assert attempts_left(result) == 4
