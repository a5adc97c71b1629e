"""Structural performance rules for the code step (bench/verify_totp.py relies on them).

Counted as tests/accounts/test_query_counts.py counts: the statements Tortoise sends,
without BEGIN and COMMIT. The viewer lookup is the first statement of every request.
"""

from tests.factories import code_for, make_domain
from tests.graphql import GraphQLClient
from tests.querycount import count_queries
from tests.two_factor.helpers import (
    align_to_step_start,
    enrolled_user,
    pending_totp_token,
    verify,
    wrong_code,
)


async def _pending(client: GraphQLClient) -> tuple[str, str]:
    align_to_step_start()
    domain = await make_domain(two_factor=True)
    user, enrolled = await enrolled_user(client, domain)
    return await pending_totp_token(client, user.email), enrolled.secret


async def test_verify_totp_costs_six_statements(client: GraphQLClient) -> None:
    token, secret = await _pending(client)
    with count_queries() as statements:
        result = await verify(client, token, code_for(secret, steps_ahead=1))
    assert result.ok()["verifyTotp"]["status"] == "AUTHENTICATED"
    # The viewer; the user's row locked with the session's liveness and the authenticator;
    # the replay guard; the old token revoked; the new session; the TOTP_VERIFIED event.
    # A clean counter needs no write.
    assert len(statements) == 6, statements


async def test_verify_totp_after_a_failure_also_clears_the_counter(
    client: GraphQLClient,
) -> None:
    token, secret = await _pending(client)
    assert (await verify(client, token, wrong_code(secret))).code == "INVALID_CODE"
    with count_queries() as statements:
        result = await verify(client, token, code_for(secret, steps_ahead=1))
    assert result.ok()["verifyTotp"]["status"] == "AUTHENTICATED"
    assert len(statements) == 7, statements


async def test_a_wrong_code_costs_four_statements(client: GraphQLClient) -> None:
    token, secret = await _pending(client)
    with count_queries() as statements:
        assert (await verify(client, token, wrong_code(secret))).code == "INVALID_CODE"
    # The viewer, the locked read, the counter and the TOTP_VERIFICATION_FAILED event.
    assert len(statements) == 4, statements


async def test_a_refused_attempt_reads_and_writes_nothing_more(client: GraphQLClient) -> None:
    token, secret = await _pending(client)
    for _ in range(5):
        assert (await verify(client, token, wrong_code(secret))).code == "INVALID_CODE"
    with count_queries() as statements:
        assert (await verify(client, token, wrong_code(secret))).code == "TOO_MANY_ATTEMPTS"
    assert len(statements) == 2, statements
