from gql_portal.accounts.models import Role
from gql_portal.audit.models import AuditEvent
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import LOGIN, GraphQLClient

ME = "{ me { id email roles twoFactor { state } } }"


async def test_login_then_me_with_the_token(client: GraphQLClient) -> None:
    domain = await make_domain()
    user = await make_user(
        domain, "Ann@Example.test".replace("example.test", domain.name), roles=[Role.USER]
    )
    payload = await client.login(user.email.upper(), PASSWORD)
    assert payload["status"] == "AUTHENTICATED"
    assert payload["token"].startswith("gqlp_")
    me = (await client.execute(ME, token=payload["token"])).ok()["me"]
    assert me["id"] == str(user.id)
    assert me["twoFactor"]["state"] == "NOT_AVAILABLE"
    assert await AuditEvent.filter(action="LOGIN_SUCCEEDED", target_id=user.id).count() == 1


async def test_me_is_null_without_a_token(client: GraphQLClient) -> None:
    result = await client.execute(ME)
    assert result.ok()["me"] is None


async def test_wrong_password_and_unknown_email_answer_alike(client: GraphQLClient) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    wrong = await client.execute(LOGIN, {"email": user.email, "password": "nope-nope-nope"})
    unknown = await client.execute(LOGIN, {"email": "ghost@nowhere.example", "password": "x" * 12})
    assert wrong.code == unknown.code == "INVALID_CREDENTIALS"
    assert wrong.errors[0]["message"] == unknown.errors[0]["message"]
    assert wrong.body["data"] is None and unknown.body["data"] is None
