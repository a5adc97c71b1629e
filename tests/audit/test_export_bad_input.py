"""The export checks all its input before the response starts: once a 200 has begun to
stream, a failure can only cut the download short, so bad input must be a 400 first."""

import pytest

from gql_portal.accounts.models import Role
from tests.audit.helpers import make_event, signed_in
from tests.factories import make_domain
from tests.graphql import GraphQLClient


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=0001-01-01T00:00:00%2B14:00", "since"),  # no UTC equivalent: overflow
        ("until=9999-12-31T23:59:59-14:00", "until"),
        ("ip=%00", "ip"),  # PostgreSQL refused it mid-stream, after the 200
        ("ip=10.0.0.1%00", "ip"),
        ("actions=LOGOUT%00", "actions"),
        ("actorId=2147483648", "actorId"),
        ("targetUserId=1%00", "targetUserId"),
        ("jobId=%00", "jobId"),
    ],
)
async def test_bad_input_is_a_400_before_the_stream(
    client: GraphQLClient, query: str, field: str
) -> None:
    domain = await make_domain()
    for _ in range(3):
        await make_event(domain, action="LOGOUT", outcome="SUCCESS", ip="10.0.0.1")
    _, token = await signed_in(client, domain, Role.AUDITOR)
    response = await client.http.get(
        f"/audit/export?{query}",
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "export-bad-0001"},
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert "content-disposition" not in response.headers
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["requestId"] == "export-bad-0001"
    assert field in error["message"]
    assert response.headers["x-content-type-options"] == "nosniff"
