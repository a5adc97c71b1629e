"""Imported users are invited: each created user gets an INVITATION link and its mail in
the chunk's transaction, set-based; updated users, a dry run and a re-run invite nobody."""

from starlette.applications import Starlette

from gql_portal.accounts.models import AccountLink, User
from gql_portal.notifications.models import Notification
from tests.accounts.links_helpers import NEW_PASSWORD, SET_PASSWORD, mailed_token
from tests.bulk.imports import admin_token, csv_of, many_rows, run_import
from tests.factories import make_domain, make_user
from tests.graphql import GraphQLClient
from tests.querycount import count_queries


async def test_created_users_are_invited_once(app: Starlette, client: GraphQLClient) -> None:
    domain = await make_domain()
    token = await admin_token(client, domain)
    existing = await make_user(domain, f"existing@{domain.name}")
    csv = many_rows(domain, 300) + f"{existing.email},Renamed,USER\n"
    with count_queries() as statements:
        job = await run_import(client, app, token, csv)
    assert (job["status"], job["created"], job["updated"]) == ("SUCCEEDED", 300, 1)
    mails = await Notification.filter(kind="INVITATION").values_list("user_id", "job_id")
    created = await User.filter(domain_id=domain.id, email__startswith="imp-").values_list(
        "id", flat=True
    )
    assert sorted(user_id for user_id, _ in mails) == sorted(created)
    assert {str(job_id) for _, job_id in mails} == {job["id"]}
    assert await AccountLink.filter(purpose="INVITATION").count() == 300
    assert not await AccountLink.filter(user_id=existing.id).exists()
    # Set-based: the links and the mails are a few statements per chunk, not one per user.
    links = [s for s in statements if s.startswith("INSERT INTO account_links")]
    assert 1 <= len(links) <= 3, len(links)
    # The same file again updates nothing new and invites nobody.
    again = await run_import(client, app, token, csv)
    assert again["created"] == 0
    assert await Notification.filter(kind="INVITATION").count() == 300


async def test_the_imported_users_link_sets_their_password(
    app: Starlette, client: GraphQLClient
) -> None:
    domain = await make_domain()
    token = await admin_token(client, domain)
    email = f"ada@{domain.name}"
    job = await run_import(client, app, token, csv_of(f"{email},Ada,USER"))
    assert job["created"] == 1
    user = await User.get(email_normalized=email)
    link = await mailed_token(user, "INVITATION")
    (await client.execute(SET_PASSWORD, {"token": link, "password": NEW_PASSWORD})).ok()
    assert (await client.login(email, NEW_PASSWORD))["status"] == "AUTHENTICATED"


async def test_a_dry_run_invites_nobody(app: Starlette, client: GraphQLClient) -> None:
    domain = await make_domain()
    token = await admin_token(client, domain)
    job = await run_import(client, app, token, many_rows(domain, 5), dryRun=True)
    assert job["status"] == "SUCCEEDED"
    assert not await AccountLink.exists()
    assert not await Notification.filter(kind="INVITATION").exists()
