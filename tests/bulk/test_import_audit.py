"""An import's events say what each row did to its user, as createUser's and updateUser's
do: the roles given, the invitation, the roles from and to, a changed display name, and the
CSV line, whatever the chunk holds (still one statement per action)."""

from starlette.applications import Starlette

from gql_portal.accounts.models import Role
from gql_portal.audit.models import AuditEvent
from tests.bulk.imports import admin_token, csv_of, run_import
from tests.factories import make_domain, make_user
from tests.graphql import GraphQLClient


async def test_each_event_names_what_its_row_changed(client: GraphQLClient, app: Starlette) -> None:
    domain = await make_domain()
    token = await admin_token(client, domain)
    renamed = await make_user(domain, f"renamed@{domain.name}", display_name="Old")
    promoted = await make_user(domain, f"promoted@{domain.name}", display_name="Pat")
    both = await make_user(
        domain, f"both@{domain.name}", display_name="Bo", roles=[Role.USER, Role.AUDITOR]
    )
    csv = csv_of(
        f"new@{domain.name},New Person,USER;security_admin",
        f"renamed@{domain.name},New Name,",
        f"promoted@{domain.name},Pat,USER;SYSTEM_ADMIN",
        f"both@{domain.name},Bea,USER",
        f"plain@{domain.name},,",
    )
    job = await run_import(client, app, token, csv)
    assert job["status"] == "SUCCEEDED" and job["created"] == 2 and job["updated"] == 3
    events = await AuditEvent.filter(job_id=job["id"], target_id__not_isnull=True)
    details = {(event.action, event.target_email): event.details for event in events}
    assert details == {
        ("USER_CREATED", f"new@{domain.name}"): {
            "via": "import",
            "line": 2,
            "roles": ["USER", "SECURITY_ADMIN"],
            "invited": True,
        },
        ("USER_UPDATED", renamed.email): {
            "via": "import",
            "line": 3,
            "displayName": True,
        },
        ("USER_UPDATED", promoted.email): {
            "via": "import",
            "line": 4,
            "roles": {"from": ["USER"], "to": ["USER", "SYSTEM_ADMIN"]},
        },
        ("USER_UPDATED", both.email): {
            "via": "import",
            "line": 5,
            "displayName": True,
            "roles": {"from": ["USER", "AUDITOR"], "to": ["USER"]},
        },
        ("USER_CREATED", f"plain@{domain.name}"): {
            "via": "import",
            "line": 6,
            "roles": ["USER"],
            "invited": True,
        },
    }
