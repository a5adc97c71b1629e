"""GraphQL documents and sign-in helpers shared by the bulk tests."""

from gql_portal.accounts.models import Domain, Role
from tests.factories import PASSWORD, make_user
from tests.graphql import GraphQLClient

JOB_FIELDS = """
  id kind status dryRun total processed changed skipped failed progress cancelRequested
  requestedByEmail createdAt startedAt finishedAt error
  filter { roles userIds twoFactorStates }
  requestedBy { id email }
"""
START = f"""
mutation Start($filter: BulkUserFilter, $dryRun: Boolean) {{
  startBulkTwoFactorEnablement(filter: $filter, dryRun: $dryRun) {{ {JOB_FIELDS} }}
}}
"""
CANCEL = f"mutation Cancel($id: ID!) {{ cancelBulkJob(id: $id) {{ {JOB_FIELDS} }} }}"
JOB = f"query Job($id: ID!) {{ bulkJob(id: $id) {{ {JOB_FIELDS} }} }}"
JOBS = """
query Jobs($first: Int, $after: String) {
  bulkJobs(first: $first, after: $after) {
    edges { cursor node { id status } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def sign_in(client: GraphQLClient, domain: Domain, role: Role) -> str:
    user = await make_user(domain, roles=[role])
    payload = await client.login(user.email, PASSWORD)
    assert payload["status"] == "AUTHENTICATED"
    token: str = payload["token"]
    return token
