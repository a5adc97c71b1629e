from datetime import timedelta

from gql_portal import clock
from gql_portal.accounts.models import Session
from gql_portal.accounts.sessions import hash_token
from gql_portal.audit.models import AuditEvent
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient

ME = "{ me { email } }"


async def _token(client: GraphQLClient) -> tuple[str, str]:
    domain = await make_domain()
    user = await make_user(domain)
    return (await client.login(user.email, PASSWORD))["token"], user.email


async def test_token_is_stored_only_as_a_hash(client: GraphQLClient) -> None:
    token, _ = await _token(client)
    stored = await Session.all().values_list("token_hash", flat=True)
    assert stored == [hash_token(token)]
    assert token not in stored[0]


async def test_idle_timeout_expires_the_session(client: GraphQLClient) -> None:
    token, email = await _token(client)
    clock.travel(timedelta(minutes=29))
    assert (await client.execute(ME, token=token)).ok()["me"]["email"] == email
    # Use keeps it alive: 29 more idle minutes after the last request are fine ...
    clock.travel(timedelta(minutes=29))
    assert (await client.execute(ME, token=token)).ok()["me"]["email"] == email
    # ... 31 are not.
    clock.travel(timedelta(minutes=31))
    assert (await client.execute(ME, token=token)).code == "UNAUTHENTICATED"


async def test_absolute_lifetime_ends_even_an_active_session(client: GraphQLClient) -> None:
    token, _ = await _token(client)
    for _ in range(12 * 3):
        clock.travel(timedelta(minutes=20))
        result = await client.execute(ME, token=token)
        if result.errors:
            break
    assert result.code == "UNAUTHENTICATED"
    assert clock.utcnow() - (await Session.first()).created_at <= timedelta(hours=12, minutes=20)  # type: ignore[union-attr]


async def test_logout_revokes_the_token_and_is_audited(client: GraphQLClient) -> None:
    token, email = await _token(client)
    assert (await client.execute("mutation { logout }", token=token)).ok()["logout"] is True
    assert (await client.execute(ME, token=token)).code == "UNAUTHENTICATED"
    assert (await client.execute("mutation { logout }", token=token)).code == "UNAUTHENTICATED"
    assert await AuditEvent.filter(action="LOGOUT", actor_email=email).count() == 1


async def test_garbage_tokens_are_unauthenticated(client: GraphQLClient) -> None:
    for token in ["nope", "gqlp_" + "A" * 43, ""]:
        result = await client.execute(ME, token=token)
        assert result.code == "UNAUTHENTICATED", token
    basic = await client.execute(ME, headers={"Authorization": "Basic abc"})
    assert basic.code == "UNAUTHENTICATED"
