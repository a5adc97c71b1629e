"""CONTRACT section 2's order: authentication, then the role, then the input. A viewer
who may not use an operation learns FORBIDDEN (and leaves ACCESS_DENIED) whatever
arguments it sends; what is wrong with them is told only to those who may ask."""

from dataclasses import dataclass
from typing import Any

import pytest

from gql_portal.accounts.models import Role
from gql_portal.api.schema import default_schema
from gql_portal.audit.models import AuditEvent
from tests.audit.helpers import signed_in
from tests.factories import make_domain
from tests.graphql import GraphQLClient

SA, SYS, AUD, USR = Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN, Role.AUDITOR, Role.USER
LATE, EARLY = "2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"


@dataclass(frozen=True)
class Case:
    """A document whose arguments are well typed but fail the resolver's own checks."""

    name: str
    field: str
    document: str
    variables: dict[str, Any]
    refused: tuple[Role, ...]


EVENTS = "query($f: AuditEventFilter, $after: String) { auditEvents(filter: $f, after: $after) "
EVENTS += "{ edges { cursor } } }"
SUMMARY = "query($f: AuditEventFilter) { auditSummary(bucket: DAY, filter: $f) { count } }"
ADOPTION = "query($days: Int!) { twoFactorAdoption(days: $days) { day } }"
START = "mutation($f: BulkUserFilter) { startBulkTwoFactorEnablement(filter: $f) { id } }"
CANCEL = "mutation($id: ID!) { cancelBulkJob(id: $id) { id } }"
JOB = "query($id: ID!) { bulkJob(id: $id) { id } }"
JOBS = "query($after: String) { bulkJobs(after: $after) { edges { cursor } } }"
USERS = "query($first: Int, $after: String) { users(first: $first, after: $after) "
USERS += "{ edges { cursor } } }"
USER = "query($id: ID!) { user(id: $id) { id } }"
RULES = "mutation($i: PasswordSecurityRulesInput!) { updatePasswordSecurityRules(input: $i) "
RULES += "{ minPasswordLength } }"
ENABLE = "mutation($id: ID!) { enableUserTwoFactor(userId: $id) { id } }"
DISABLE = "mutation($id: ID!) { disableUserTwoFactor(userId: $id) { id } }"
RESET = "mutation($id: ID!) { resetUserTwoFactor(userId: $id) { id } }"

CASES = [
    Case(
        "events since after until",
        "auditEvents",
        EVENTS,
        {"f": {"since": LATE, "until": EARLY}},
        (USR,),
    ),
    Case(
        "events time without zone",
        "auditEvents",
        EVENTS,
        {"f": {"since": "2026-01-01T00:00:00"}},
        (USR,),
    ),
    Case("events actor id", "auditEvents", EVENTS, {"f": {"actorId": "not-an-id"}}, (USR,)),
    Case("events job id", "auditEvents", EVENTS, {"f": {"jobId": "not-a-uuid"}}, (USR,)),
    Case("events blank ip", "auditEvents", EVENTS, {"f": {"ip": "  "}}, (USR,)),
    Case("events cursor", "auditEvents", EVENTS, {"after": "garbage"}, (USR,)),
    Case(
        "summary since after until",
        "auditSummary",
        SUMMARY,
        {"f": {"since": LATE, "until": EARLY}},
        (USR,),
    ),
    Case("summary target id", "auditSummary", SUMMARY, {"f": {"targetUserId": "-1"}}, (USR,)),
    Case("adoption days", "twoFactorAdoption", ADOPTION, {"days": 0}, (USR,)),
    Case(
        "bulk empty roles",
        "startBulkTwoFactorEnablement",
        START,
        {"f": {"roles": []}},
        (USR, AUD, SYS),
    ),
    Case(
        "bulk user ids",
        "startBulkTwoFactorEnablement",
        START,
        {"f": {"userIds": ["x"]}},
        (USR, AUD, SYS),
    ),
    Case(
        "bulk empty states",
        "startBulkTwoFactorEnablement",
        START,
        {"f": {"twoFactorStates": []}},
        (USR, AUD, SYS),
    ),
    Case("cancel job id", "cancelBulkJob", CANCEL, {"id": "not-a-uuid"}, (USR, AUD, SYS)),
    Case("job id", "bulkJob", JOB, {"id": "not-a-uuid"}, (USR,)),
    Case("jobs cursor", "bulkJobs", JOBS, {"after": "garbage"}, (USR,)),
    Case("users page size", "users", USERS, {"first": 100_000}, (USR,)),
    Case("users cursor", "users", USERS, {"after": "garbage"}, (USR,)),
    Case("user id", "user", USER, {"id": "garbage"}, (USR,)),
    Case(
        "rules out of range",
        "updatePasswordSecurityRules",
        RULES,
        {"i": {"minPasswordLength": 1}},
        (USR, AUD, SYS),
    ),
    Case("enable id", "enableUserTwoFactor", ENABLE, {"id": "garbage"}, (USR, AUD, SYS)),
    Case("disable id", "disableUserTwoFactor", DISABLE, {"id": "garbage"}, (USR, AUD)),
    Case("reset id", "resetUserTwoFactor", RESET, {"id": "garbage"}, (USR, AUD)),
]
# Root fields with arguments that every signed-in viewer may use: their input is theirs.
OPEN_TO_EVERY_VIEWER = {
    "login",
    "confirmTotpEnrollment",
    "verifyTotp",
    "verifyRecoveryCode",
    "regenerateRecoveryCodes",
    # Both directions have a role that may use it; the role depends on the value itself.
    "setDomainTwoFactor",
}


def _root_fields_with_arguments() -> set[str]:
    fields: set[str] = set()
    for root in (default_schema()._schema.query_type, default_schema()._schema.mutation_type):
        assert root is not None
        fields.update(name for name, field in root.fields.items() if field.args)
    return fields


def test_every_restricted_operation_with_arguments_is_checked_here() -> None:
    covered = {case.field for case in CASES}
    assert _root_fields_with_arguments() - OPEN_TO_EVERY_VIEWER == covered


@pytest.mark.parametrize(
    ("case", "role"),
    [(case, role) for case in CASES for role in case.refused],
    ids=[f"{case.name}-{role.value}" for case in CASES for role in case.refused],
)
async def test_a_refused_role_gets_forbidden_before_its_input_is_read(
    client: GraphQLClient, case: Case, role: Role
) -> None:
    domain = await make_domain(two_factor=True)
    viewer, token = await signed_in(client, domain, role)
    result = await client.execute(case.document, case.variables, token=token)
    assert result.code == "FORBIDDEN", result.body
    denied = await AuditEvent.filter(action="ACCESS_DENIED", actor_id=viewer.id)
    assert [event.details for event in denied] == [{"operation": case.field}]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_an_allowed_role_still_gets_its_input_checked(
    client: GraphQLClient, case: Case
) -> None:
    domain = await make_domain(two_factor=True)
    viewer, token = await signed_in(client, domain, SA)
    result = await client.execute(case.document, case.variables, token=token)
    assert result.code in {"BAD_USER_INPUT", "NOT_FOUND"}, result.body
    assert not await AuditEvent.filter(action="ACCESS_DENIED", actor_id=viewer.id).exists()


@pytest.mark.parametrize(
    "query",
    [
        "format=xml",
        "since=yesterday",
        "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
        "actions=NOPE",
        "actorId=x",
    ],
)
async def test_export_refuses_a_user_before_reading_the_filters(
    client: GraphQLClient, query: str
) -> None:
    domain = await make_domain()
    viewer, token = await signed_in(client, domain, USR)
    response = await client.http.get(
        f"/audit/export?{query}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    denied = await AuditEvent.filter(action="ACCESS_DENIED", actor_id=viewer.id)
    assert [event.details for event in denied] == [{"operation": "auditExport"}]
