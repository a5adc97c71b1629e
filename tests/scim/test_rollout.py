"""Issue 14's "done when" from the identity provider's side: users provisioned by a SCIM
client, then 2FA enabled for all of them by one bulk job; SCIM still reads them as it
wrote them, and a user the identity provider deactivated is left out."""

from scim2_models import ListResponse, PatchOp, PatchOperation, SearchRequest, User
from starlette.applications import Starlette

from gql_portal.accounts.models import Role
from gql_portal.accounts.models import User as PortalUser
from gql_portal.audit.models import AuditEvent
from tests.bulk.api import START, sign_in
from tests.bulk.imports import in_process
from tests.factories import make_domain
from tests.graphql import GraphQLClient
from tests.scim.helpers import scim_client, scim_token

PEOPLE = 40


async def test_provisioned_over_scim_then_enabled_in_one_job(
    app: Starlette, client: GraphQLClient
) -> None:
    domain = await make_domain(two_factor=True)
    scim = scim_client(app, await scim_token(domain))
    created = [
        await scim.create(User(user_name=f"p{number}@example.org", display_name=f"P {number}"))
        for number in range(PEOPLE)
    ]
    assert all(isinstance(user, User) and user.id for user in created)
    leaver = created[0]
    assert isinstance(leaver, User) and leaver.id
    await scim.modify(
        User,
        leaver.id,
        PatchOp[User](operations=[PatchOperation[User](op="replace", path="active", value=False)]),
    )
    security = await sign_in(client, domain, Role.SECURITY_ADMIN)
    filter = {"roles": ["USER"]}
    preview = await client.execute(START, {"filter": filter, "dryRun": True}, token=security)
    await in_process(app).drain()
    assert preview.ok()["startBulkTwoFactorEnablement"]["total"] == PEOPLE - 1
    started = (await client.execute(START, {"filter": filter}, token=security)).ok()
    await in_process(app).drain()
    job_id = started["startBulkTwoFactorEnablement"]["id"]
    provisioned = PortalUser.filter(domain_id=domain.id, email__startswith="p")
    assert await provisioned.filter(active=True, two_factor_enabled=True).count() == PEOPLE - 1
    assert await provisioned.filter(active=False, two_factor_enabled=False).count() == 1
    enabled = await AuditEvent.filter(job_id=job_id, action="USER_TWO_FACTOR_ENABLED").count()
    assert enabled == PEOPLE - 1
    listed = await scim.query(
        User, query_parameters=SearchRequest(filter='userName sw "p" and active eq true')
    )
    assert isinstance(listed, ListResponse) and listed.total_results == PEOPLE - 1
