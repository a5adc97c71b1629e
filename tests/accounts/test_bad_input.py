import pytest

from gql_portal.api.pagination import encode_cursor
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import LOGIN, GraphQLClient


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("", "whatever-password", "email"),
        ("   ", "whatever-password", "email"),
        ("a@b.example", "", "password"),
        ("a@b.example", "x" * 10_240, "password"),
        ("a" * 400 + "@b.example", "whatever-password", "email"),
    ],
)
async def test_login_rejects_bad_input_clearly(
    client: GraphQLClient, email: str, password: str, field: str
) -> None:
    result = await client.execute(LOGIN, {"email": email, "password": password})
    assert result.status == 200
    assert result.code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == field


async def test_malformed_cursor_is_bad_user_input(client: GraphQLClient) -> None:
    from gql_portal.accounts.models import Role

    domain = await make_domain()
    admin = await make_user(domain, roles=[Role.SYSTEM_ADMIN])
    token = (await client.login(admin.email, PASSWORD))["token"]
    too_long = encode_cursor("user", "z" * 321)  # well-formed, but no email is that long
    for cursor in ["!!!", "bm90LWpzb24", "WyJhdWRpdCIsMV0", "W10", too_long]:
        result = await client.execute(
            "query($after: String) { users(after: $after) { edges { cursor } } }",
            {"after": cursor},
            token=token,
        )
        assert result.code == "BAD_USER_INPUT", cursor
    for first in [0, -1, 501]:
        result = await client.execute(
            "query($first: Int) { users(first: $first) { edges { cursor } } }",
            {"first": first},
            token=token,
        )
        assert result.code == "BAD_USER_INPUT", first


async def test_wrong_variable_types_are_bad_user_input(client: GraphQLClient) -> None:
    result = await client.execute(LOGIN, {"email": 5, "password": None})
    assert result.codes and set(result.codes) == {"BAD_USER_INPUT"}
    assert "Traceback" not in str(result.body)
