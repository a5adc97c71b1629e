"""An address nobody can tell from an existing one is refused, by every way in (createUser,
SCIM, the CSV import): invisible characters (zero-width space, byte order mark, soft hyphen,
direction marks), whitespace, and an empty label after the @ (a trailing dot)."""

import pytest
from starlette.applications import Starlette

from gql_portal.accounts.models import Role
from gql_portal.accounts.models import User as PortalUser
from gql_portal.accounts.validation import require_email
from gql_portal.errors import BadUserInputError
from tests.accounts.provisioning_helpers import CREATE, error_of, signed_in
from tests.bulk.imports import admin_token, csv_of, run_import
from tests.factories import make_domain
from tests.graphql import GraphQLClient
from tests.scim.helpers import auth, scim_token

LOOK_ALIKES = [
    "admin@example.org\u200b",  # zero-width space after
    "\u200badmin@example.org",  # and before
    "\ufeffadmin@example.org",  # byte order mark
    "ad\u00admin@example.org",  # soft hyphen
    "ad\u200dmin@example.org",  # zero-width joiner
    "admin\u200e@example.org",  # left-to-right mark
    "ad\u00a0min@example.org",  # no-break space
    "admin@example.org.",  # a trailing dot: the same host to DNS
    "admin@.example.org",
    "admin@example..org",
]


@pytest.mark.parametrize("email", LOOK_ALIKES)
def test_the_rule_refuses_each_look_alike(email: str) -> None:
    with pytest.raises(BadUserInputError, match="not a valid address"):
        require_email(email)


@pytest.mark.parametrize(
    "email",
    ["zoë@example.org", "first..last@example.org", "a+tag@sub.example.org", "x@xn--mnchen-3ya.de"],
)
def test_real_addresses_are_still_accepted(email: str) -> None:
    assert require_email(email) == email.lower()


async def test_graphql_scim_and_the_import_refuse_them_all(
    client: GraphQLClient, app: Starlette
) -> None:
    domain = await make_domain()
    _, token = await signed_in(client, domain, Role.SYSTEM_ADMIN)
    scim = await scim_token(domain)
    before = await PortalUser.filter(domain_id=domain.id).count()
    for email in LOOK_ALIKES:
        created = await client.execute(CREATE, {"input": {"email": email}}, token=token)
        error = error_of(created.body)
        assert (error["code"], error["field"]) == ("BAD_USER_INPUT", "email"), email
        response = await client.http.post(
            "/scim/v2/Users",
            json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": email},
            headers=auth(scim),
        )
        assert response.status_code == 400, (email, response.text)
        assert response.json()["scimType"] == "invalidValue"
    import_token = await admin_token(client, domain)
    job = await run_import(client, app, import_token, csv_of(*(f"{e},X,USER" for e in LOOK_ALIKES)))
    assert job["failed"] == len(LOOK_ALIKES) and job["created"] == 0
    assert {error["reason"] for error in job["errors"]} == {"Email is not a valid address"}
    # The admins signed in for the test are all that was created.
    assert await PortalUser.filter(domain_id=domain.id).count() == before + 1
