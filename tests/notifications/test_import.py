"""An import through GraphQL: its users hear that an import turned 2FA on (set-based, one
message each), its requester gets the summary; a dry run tells no one."""

from collections import Counter

from starlette.applications import Starlette

from gql_portal.accounts.models import User
from gql_portal.notifications.models import NotificationKind as K
from tests.bulk.imports import admin_token, many_rows, run_import
from tests.factories import make_domain
from tests.graphql import GraphQLClient
from tests.notifications.helpers import rows


async def test_an_import_with_two_factor_tells_each_user_and_its_requester(
    client: GraphQLClient, app: Starlette
) -> None:
    domain = await make_domain(two_factor=True)
    token = await admin_token(client, domain)
    csv = many_rows(domain, 30)
    dry = await run_import(client, app, token, csv, dryRun=True, enableTwoFactor=True)
    assert dry["status"] == "SUCCEEDED"
    assert await rows() == []
    job = await run_import(client, app, token, csv, enableTwoFactor=True)
    assert (job["status"], job["created"]) == ("SUCCEEDED", 30)
    imported = await User.filter(email__startswith="imp-").values_list("id", flat=True)
    enabled = await rows(K.TWO_FACTOR_ENABLED)
    assert Counter(row.user_id for row in enabled) == Counter(imported)
    assert {row.params["via"] for row in enabled} == {"import"}
    assert {str(row.job_id) for row in enabled} == {job["id"]}
    [summary] = await rows(K.JOB_FINISHED)
    assert summary.params["jobKind"] == "IMPORT_USERS"
    assert (summary.params["created"], summary.params["status"]) == (30, "SUCCEEDED")
    # The same file again: the users exist and are enabled, nobody is told twice.
    await run_import(client, app, token, csv, enableTwoFactor=True)
    assert len(await rows(K.TWO_FACTOR_ENABLED)) == 30
    assert len(await rows(K.JOB_FINISHED)) == 2
