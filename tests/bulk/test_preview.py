from gql_portal.accounts.models import Role, User
from tests.bulk.api import sign_in
from tests.bulk.helpers import make_many_users
from tests.factories import make_domain, make_user
from tests.graphql import GraphQLClient

PREVIEW = """
mutation Preview($filter: BulkUserFilter, $dryRun: Boolean) {
  startBulkTwoFactorEnablement(filter: $filter, dryRun: $dryRun) {
    id dryRun total includesViewer sample { id email twoFactor { state } }
  }
}
"""
LATER = "query Later($id: ID!) { bulkJob(id: $id) { id includesViewer sample { id } } }"


async def _preview(client: GraphQLClient, token: str, variables: dict[str, object]) -> dict:
    result = await client.execute(PREVIEW, {**variables, "dryRun": True}, token=token)
    job: dict = result.ok()["startBulkTwoFactorEnablement"]
    return job


async def test_a_dry_run_says_whether_everyone_includes_the_viewer(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    await make_many_users(domain, 7)
    job = await _preview(client, token, {})
    assert (job["total"], job["includesViewer"]) == (8, True)
    assert len(job["sample"]) == 5
    assert {user["twoFactor"]["state"] for user in job["sample"]} <= {"DISABLED"}


async def test_a_selection_without_the_viewer_says_so_and_samples_only_selected_users(
    client: GraphQLClient,
) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    await make_many_users(domain, 3, roles=[Role.AUDITOR], prefix="aud")
    await make_many_users(domain, 6)
    job = await _preview(client, token, {"filter": {"roles": ["AUDITOR"]}})
    assert (job["total"], job["includesViewer"]) == (3, False)
    emails = sorted(user["email"] for user in job["sample"])
    assert emails == [f"aud-{number:06d}@{domain.name}" for number in range(3)]


async def test_the_sample_never_crosses_domains(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    other = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    stranger = await make_user(other)
    job = await _preview(client, token, {"filter": {"userIds": [str(stranger.id)]}})
    assert (job["total"], job["includesViewer"], job["sample"]) == (0, False, [])


async def test_the_state_filter_decides_whether_the_viewer_is_included(
    client: GraphQLClient,
) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    pending = await make_user(domain)
    await User.filter(id=pending.id).update(two_factor_enabled=True)
    job = await _preview(client, token, {"filter": {"twoFactorStates": ["DISABLED"]}})
    assert (job["total"], job["includesViewer"]) == (1, True)
    assert pending.email not in {user["email"] for user in job["sample"]}
    job = await _preview(client, token, {"filter": {"twoFactorStates": ["PENDING_ENROLLMENT"]}})
    assert (job["total"], job["includesViewer"]) == (1, False)
    assert [user["email"] for user in job["sample"]] == [pending.email]


async def test_a_dry_run_read_later_answers_for_whoever_reads_it(
    client: GraphQLClient,
) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    auditor = await sign_in(client, domain, Role.AUDITOR)
    job = await _preview(client, token, {"filter": {"roles": ["SECURITY_ADMIN"]}})
    assert job["includesViewer"] is True
    mine = (await client.execute(LATER, {"id": job["id"]}, token=token)).ok()["bulkJob"]
    theirs = (await client.execute(LATER, {"id": job["id"]}, token=auditor)).ok()["bulkJob"]
    assert (mine["includesViewer"], theirs["includesViewer"]) == (True, False)
    assert mine["sample"] == theirs["sample"] and len(theirs["sample"]) == 1


async def test_a_real_job_has_no_preview(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    token = await sign_in(client, domain, Role.SECURITY_ADMIN)
    await make_user(domain)
    started = await client.execute(
        PREVIEW, {"filter": {"roles": ["USER"]}, "dryRun": False}, token=token
    )
    real = started.ok()["startBulkTwoFactorEnablement"]
    assert (real["dryRun"], real["includesViewer"], real["sample"]) == (False, None, None)
    later = (await client.execute(LATER, {"id": real["id"]}, token=token)).ok()["bulkJob"]
    assert (later["includesViewer"], later["sample"]) == (None, None)
