"""One display-name (and email) rule for GraphQL, the CSV import and SCIM: no control
characters, line breaks, NUL or direction overrides (they break exports, mail headers and
logs, and PostgreSQL refuses NUL)."""

import json

import pytest
from starlette.applications import Starlette

from gql_portal.accounts.models import Role, User
from gql_portal.accounts.validation import require_display_name
from gql_portal.errors import BadUserInputError
from tests.accounts.provisioning_helpers import CREATE, UPDATE, error_of, signed_in
from tests.bulk.imports import csv_of, run_import
from tests.factories import make_domain, make_user
from tests.graphql import GraphQLClient
from tests.scim.helpers import auth, scim_token

REFUSED = ["Ada\nLovelace", "Ada\r\nX", "Ada\x00", "A\x1b[31mda", "Ada\u202eecalevol", "A\u2028da"]


@pytest.mark.parametrize("name", REFUSED)
def test_the_rule_refuses_control_characters(name: str) -> None:
    with pytest.raises(BadUserInputError) as refused:
        require_display_name(name)
    assert refused.value.extensions == {"field": "displayName"}


def test_the_rule_keeps_ordinary_names() -> None:
    for name in ("Ada Lovelace", "Zoë Ñúñez", "李小龙", "Dev 👩\u200d💻", "O'Brien-Smith"):
        assert require_display_name(f"  {name} ") == name


async def test_graphql_refuses_them_in_create_and_update(client: GraphQLClient) -> None:
    domain = await make_domain()
    _, token = await signed_in(client, domain, Role.SYSTEM_ADMIN)
    target = await make_user(domain, display_name="Plain")
    # NUL never reaches the rule over GraphQL: api/input_text.py refuses it in any input.
    expected = {"displayName", "input"}
    for name in REFUSED:
        created = await client.execute(
            CREATE, {"input": {"email": "n@x.example", "displayName": name}}, token=token
        )
        assert error_of(created.body)["field"] in expected, name
        updated = await client.execute(
            UPDATE, {"id": str(target.id), "input": {"displayName": name}}, token=token
        )
        assert error_of(updated.body)["field"] in expected, name
    nul_email = await client.execute(CREATE, {"input": {"email": "a\x00@x.example"}}, token=token)
    assert error_of(nul_email.body)["field"] in {"email", "input"}
    escape_email = await client.execute(
        CREATE, {"input": {"email": "a\x1b@x.example"}}, token=token
    )
    assert error_of(escape_email.body)["field"] == "email"
    assert await User.filter(domain_id=domain.id).count() == 2
    assert (await User.get(id=target.id)).display_name == "Plain"


async def test_the_import_refuses_the_row(client: GraphQLClient, app: Starlette) -> None:
    domain = await make_domain()
    _, token = await signed_in(client, domain, Role.SYSTEM_ADMIN)
    csv = csv_of(f'bad@{domain.name},"Two\nLines",USER', f"good@{domain.name},Fine,USER")
    job = await run_import(client, app, token, csv)
    assert job["created"] == 1 and [error["email"] for error in job["errors"]] == [
        f"bad@{domain.name}"
    ]
    assert not await User.filter(email_normalized=f"bad@{domain.name}").exists()


async def test_scim_refuses_them_as_an_invalid_value(client: GraphQLClient) -> None:
    domain = await make_domain()
    token = await scim_token(domain)
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"scim@{domain.name}",
        "displayName": "Evil\r\nBcc: everyone@example.org",
    }
    response = await client.http.post(
        "/scim/v2/Users", content=json.dumps(body), headers=auth(token)
    )
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] == "invalidValue"
    assert not await User.filter(email_normalized=f"scim@{domain.name}").exists()
