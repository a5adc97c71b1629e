"""The README's bulk section does what it says, as the demo's security admin: a job for
`roles: [USER]` includes the admin, gates their own session, and a grace period avoids it."""

import re
from pathlib import Path

import pytest
from starlette.applications import Starlette

from gql_portal.api.schema import schema_sdl
from gql_portal.bulk.dispatch import InProcessDispatcher
from gql_portal.demo import seed_demo
from tests.graphql import GraphQLClient

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
SECTION = README.split("\n## Bulk 2FA enablement\n", 1)[1].split("\n## ", 1)[0]
BLOCKS = re.findall(r"```graphql\n(.*?)```", SECTION, flags=re.DOTALL)
ME = "{ me { twoFactor { state enrollmentDeadline } } }"
USERS = "{ users(first: 1) { edges { node { email } } } }"  # not open to a gated session


def _block(marker: str) -> str:
    [block] = [block for block in BLOCKS if marker in block]
    return block


async def _signed_in_admin(client: GraphQLClient) -> str:
    await seed_demo(out=lambda line: None)
    login = await client.login("secadmin@demo.example", "correct-horse-battery")
    assert login["status"] == "AUTHENTICATED"
    token: str = login["token"]
    return token


async def _run_the_job(client: GraphQLClient, app: Starlette, token: str) -> None:
    started = (await client.execute(_block("dryRun: false"), token=token)).ok()
    assert started["startBulkTwoFactorEnablement"]["total"] >= 6
    dispatcher = app.state.bulk_dispatcher
    assert isinstance(dispatcher, InProcessDispatcher)
    await dispatcher.drain()


async def test_the_job_gates_the_admins_own_session(client: GraphQLClient, app: Starlette) -> None:
    token = await _signed_in_admin(client)
    assert (await client.execute(USERS, token=token)).ok()["users"]["edges"]
    await _run_the_job(client, app, token)
    assert (await client.execute(USERS, token=token)).code == "TWO_FACTOR_REQUIRED"


async def test_with_the_grace_period_first_the_admin_keeps_working(
    client: GraphQLClient, app: Starlette
) -> None:
    token = await _signed_in_admin(client)
    rules = await client.execute(_block("enrollmentGracePeriodHours"), token=token)
    assert rules.ok()["updatePasswordSecurityRules"]["enrollmentGracePeriodHours"] == 72
    await _run_the_job(client, app, token)
    assert (await client.execute(USERS, token=token)).ok()["users"]["edges"]
    me = (await client.execute(ME, token=token)).ok()["me"]
    assert me["twoFactor"]["state"] == "PENDING_ENROLLMENT"
    assert me["twoFactor"]["enrollmentDeadline"] is not None


@pytest.mark.skipif(
    "includesViewer" not in schema_sdl(),
    reason="BulkJob.includesViewer comes from branch portal-ui: runs once it is merged",
)
async def test_the_dry_run_says_it_includes_the_admin(client: GraphQLClient) -> None:
    token = await _signed_in_admin(client)
    job = (await client.execute(_block("dryRun: true"), token=token)).ok()
    answer = job["startBulkTwoFactorEnablement"]
    assert answer["includesViewer"] is True
    assert answer["total"] >= 6 and 1 <= len(answer["sample"]) <= answer["total"]
    assert all(user["email"].endswith("@demo.example") for user in answer["sample"])
