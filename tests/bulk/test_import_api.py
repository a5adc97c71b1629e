"""importUsers through GraphQL with the in-process runner, on the test database."""

from starlette.applications import Starlette

from gql_portal.accounts.models import Role, User
from gql_portal.audit.models import AuditEvent
from gql_portal.bulk.models import BulkJob, ImportRow
from gql_portal.clock import utcnow
from tests.bulk.api import START, sign_in
from tests.bulk.imports import IMPORT, IMPORT_JOB, admin_token, csv_of, in_process, run_import
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient


async def test_an_import_creates_updates_keeps_and_refuses_rows(
    client: GraphQLClient, app: Starlette
) -> None:
    domain = await make_domain()
    token = await admin_token(client, domain)
    await make_user(domain, email=f"known@{domain.name}", display_name="Old Name")
    await make_user(domain, email=f"same@{domain.name}", display_name="Same")
    csv = csv_of(
        f"new@{domain.name},New Person,USER;auditor",
        f"KNOWN@{domain.name},New Name,",
        f"same@{domain.name},Same,user",
        "not-an-email,Nobody,USER",
        f"other@{domain.name},Other,WIZARD",
        f"new@{domain.name},Twice,USER",
    )
    job = await run_import(client, app, token, csv)
    assert job["status"] == "SUCCEEDED" and job["kind"] == "IMPORT_USERS"
    counters = ("total", "processed", "created", "updated", "skipped", "failed", "changed")
    assert [job[name] for name in counters] == [6, 6, 1, 1, 1, 3, 2]
    assert job["errors"] == [
        {"line": 5, "email": "not-an-email", "reason": "Email is not a valid address"},
        {
            "line": 6,
            "email": f"other@{domain.name}",
            "reason": "Unknown role 'WIZARD' (roles are USER, SECURITY_ADMIN, SYSTEM_ADMIN, "
            "AUDITOR, separated by ';')",
        },
        {"line": 7, "email": f"new@{domain.name}", "reason": "Duplicate of line 2"},
    ]
    assert [(row["line"], row["outcome"]) for row in job["importRows"]] == [
        (2, "CREATED"),
        (3, "UPDATED"),
        (4, "UNCHANGED"),
        (5, "REFUSED"),
        (6, "REFUSED"),
        (7, "REFUSED"),
    ]
    created = await User.get(domain_id=domain.id, email_normalized=f"new@{domain.name}")
    assert created.display_name == "New Person" and created.password_hash == ""
    assert created.role_list == [Role.USER, Role.AUDITOR] and created.active
    known = await User.get(domain_id=domain.id, email_normalized=f"known@{domain.name}")
    # An empty roles cell keeps the user's roles.
    assert known.display_name == "New Name" and known.role_list == [Role.USER]
    assert known.updated_at is not None
    events = await AuditEvent.filter(job_id=job["id"]).order_by("id")
    by_action = {(event.action, event.target_id) for event in events}
    assert ("USER_CREATED", created.id) in by_action and ("USER_UPDATED", known.id) in by_action
    assert [event.action for event in events].count("USER_CREATED") == 1
    assert all(event.details["via"] == "import" for event in events if event.target_id)
    assert {event.action for event in events} == {
        "BULK_JOB_STARTED",
        "USER_CREATED",
        "USER_UPDATED",
        "BULK_JOB_FINISHED",
    }
    # An invited user has no password: no password signs them in.
    login = await client.execute(
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { status } }",
        {"e": created.email, "p": PASSWORD},
    )
    assert login.code == "INVALID_CREDENTIALS"


async def test_the_same_file_twice_changes_nothing_the_second_time(
    client: GraphQLClient, app: Starlette
) -> None:
    domain = await make_domain()
    token = await admin_token(client, domain)
    csv = csv_of(*(f"p{number}@{domain.name},P {number},USER" for number in range(30)))
    first = await run_import(client, app, token, csv)
    assert (first["created"], first["updated"], first["skipped"]) == (30, 0, 0)
    events = await AuditEvent.all().count()
    second = await run_import(client, app, token, csv)
    assert (second["created"], second["updated"], second["skipped"]) == (0, 0, 30)
    assert {row["outcome"] for row in second["importRows"]} == {"UNCHANGED"}
    # Only the second job's own start and end.
    assert await AuditEvent.all().count() == events + 2
    assert await User.filter(domain_id=domain.id).count() == 31


async def test_a_dry_run_reports_every_row_and_writes_no_user(
    client: GraphQLClient, app: Starlette
) -> None:
    domain = await make_domain()
    token = await admin_token(client, domain)
    await make_user(domain, email=f"known@{domain.name}", display_name="Old")
    users = await User.all().count()
    events = await AuditEvent.all().count()
    csv = csv_of(f"new@{domain.name},New,USER", f"known@{domain.name},Renamed,USER", "bad,,")
    job = await run_import(client, app, token, csv, dryRun=True)
    assert job["status"] == "SUCCEEDED" and job["dryRun"]
    assert (job["created"], job["updated"], job["failed"]) == (1, 1, 1)
    assert [row["outcome"] for row in job["importRows"]] == ["CREATED", "UPDATED", "REFUSED"]
    assert await User.all().count() == users and await AuditEvent.all().count() == events
    known = await User.get(email_normalized=f"known@{domain.name}")
    assert known.display_name == "Old"
    refused = await client.execute(
        IMPORT_JOB, {"id": job["id"], "outcomes": ["REFUSED"]}, token=token
    )
    assert [row["line"] for row in refused.ok()["bulkJob"]["importRows"]] == [4]


async def test_only_a_system_admin_imports(client: GraphQLClient) -> None:
    domain = await make_domain()
    for role in (Role.SECURITY_ADMIN, Role.AUDITOR, Role.USER):
        token = await sign_in(client, domain, role)
        result = await client.execute(IMPORT, {"csv": "garbage"}, token=token)
        assert result.code == "FORBIDDEN"
    denied = await AuditEvent.filter(domain_id=domain.id, action="ACCESS_DENIED").count()
    assert denied == 3 and await BulkJob.filter(domain_id=domain.id).count() == 0
    assert (await client.execute(IMPORT, {"csv": csv_of()})).code == "UNAUTHENTICATED"


async def test_a_whole_file_error_creates_no_job(client: GraphQLClient) -> None:
    domain = await make_domain()
    token = await admin_token(client, domain)
    result = await client.execute(IMPORT, {"csv": "mail,name\na@b.example,A\n"}, token=token)
    assert result.code == "BAD_USER_INPUT"
    extensions = result.errors[0]["extensions"]
    assert extensions["field"] == "csv" and extensions["line"] == 1
    nul = await client.execute(IMPORT, {"csv": csv_of("a@b.example,A\x00,USER")}, token=token)
    # Every variable of every request is checked for NUL and lone surrogates first.
    assert nul.code == "BAD_USER_INPUT" and nul.errors[0]["extensions"]["field"] == "csv"
    assert await BulkJob.filter(domain_id=domain.id).count() == 0
    assert await ImportRow.all().count() == 0


async def test_rows_never_remove_the_last_admins_nor_change_the_importers_roles(
    client: GraphQLClient, app: Starlette
) -> None:
    domain = await make_domain()
    importer = await make_user(domain, roles=[Role.SYSTEM_ADMIN])
    token = (await client.login(importer.email, PASSWORD))["token"]
    security = await make_user(domain, roles=[Role.SECURITY_ADMIN])
    deputy = await make_user(domain, roles=[Role.SECURITY_ADMIN])
    csv = csv_of(
        f"{security.email},,USER",  # one of two SECURITY_ADMINs: allowed
        f"{deputy.email},,USER",  # the last one left: refused
        f"{importer.email},,SYSTEM_ADMIN;AUDITOR",  # the importer's own roles: refused
    )
    job = await run_import(client, app, token, csv)
    assert [(error["line"], error["reason"]) for error in job["errors"]] == [
        (3, "The domain must keep at least one active SECURITY_ADMIN"),
        (4, "Nobody changes their own roles"),
    ]
    assert (await User.get(id=security.id)).role_list == [Role.USER]
    assert (await User.get(id=deputy.id)).role_list == [Role.SECURITY_ADMIN]
    assert (await User.get(id=importer.id)).role_list == [Role.SYSTEM_ADMIN]


async def test_an_email_of_another_domain_is_created_here_and_left_alone_there(
    client: GraphQLClient, app: Starlette
) -> None:
    here, there = await make_domain(), await make_domain()
    token = await admin_token(client, here)
    theirs = await make_user(there, email="shared@example.org", display_name="Theirs")
    job = await run_import(client, app, token, csv_of("shared@example.org,Ours,AUDITOR"))
    assert job["created"] == 1
    ours = await User.get(domain_id=here.id, email_normalized="shared@example.org")
    assert ours.display_name == "Ours" and ours.id != theirs.id
    untouched = await User.get(id=theirs.id)
    assert untouched.display_name == "Theirs" and untouched.role_list == [Role.USER]
    assert not await AuditEvent.filter(job_id=job["id"], target_id=theirs.id).exists()


async def test_enable_two_factor_enables_the_imported_users(
    client: GraphQLClient, app: Starlette
) -> None:
    domain = await make_domain(two_factor=True)
    token = await admin_token(client, domain)
    await make_user(domain, email=f"known@{domain.name}")
    csv = csv_of(f"new@{domain.name},New,USER", f"known@{domain.name},,", "bad,,")
    job = await run_import(client, app, token, csv, enableTwoFactor=True)
    assert (job["created"], job["skipped"], job["failed"]) == (1, 1, 1)
    imported = await User.filter(
        domain_id=domain.id, email_normalized__in=[f"new@{domain.name}", f"known@{domain.name}"]
    )
    assert all(user.two_factor_enabled for user in imported)
    enabled = await AuditEvent.filter(job_id=job["id"], action="USER_TWO_FACTOR_ENABLED")
    assert sorted(event.target_id for event in enabled) == sorted(user.id for user in imported)


async def test_enable_two_factor_needs_the_domain_switch(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=False)
    token = await admin_token(client, domain)
    csv = csv_of(f"new@{domain.name},New,USER")
    result = await client.execute(IMPORT, {"csv": csv, "enableTwoFactor": True}, token=token)
    assert result.code == "TWO_FACTOR_NOT_AVAILABLE"
    assert await BulkJob.filter(domain_id=domain.id).count() == 0


async def test_one_job_per_domain_an_import_waits_for_a_running_enablement(
    client: GraphQLClient, app: Starlette
) -> None:
    domain = await make_domain(two_factor=True)
    security = await sign_in(client, domain, Role.SECURITY_ADMIN)
    token = await admin_token(client, domain)
    job = await BulkJob.create(
        domain_id=domain.id, status="RUNNING", active_domain_id=domain.id, created_at=utcnow()
    )
    result = await client.execute(IMPORT, {"csv": csv_of("a@b.example,A,USER")}, token=token)
    assert result.code == "JOB_CONFLICT"
    assert await ImportRow.all().count() == 0
    # A dry run changes nothing: it does not wait.
    dry = await client.execute(
        IMPORT, {"csv": csv_of("a@b.example,A,USER"), "dryRun": True}, token=token
    )
    assert dry.ok()["importUsers"]["dryRun"]
    await in_process(app).drain()
    await BulkJob.filter(id=job.id).update(status="SUCCEEDED", active_domain_id=None)
    started = await client.execute(IMPORT, {"csv": csv_of("a@b.example,A,USER")}, token=token)
    await in_process(app).drain()
    assert (await BulkJob.get(id=started.ok()["importUsers"]["id"])).status == "SUCCEEDED"
    # And a running import holds the domain against an enablement.
    await BulkJob.create(
        domain_id=domain.id,
        kind="IMPORT_USERS",
        status="RUNNING",
        active_domain_id=domain.id,
        created_at=utcnow(),
    )
    assert (await client.execute(START, token=security)).code == "JOB_CONFLICT"
