"""Every 2FA action leaves an audit row, and no row holds a secret, code, token or URI."""

import re
from datetime import timedelta

from tortoise import connections

from gql_portal import clock
from gql_portal.accounts.models import Role
from gql_portal.audit.models import AuditEvent
from tests.factories import PASSWORD, code_for, make_domain, make_user
from tests.graphql import GraphQLClient
from tests.two_factor.helpers import (
    DISABLE_USER,
    ENABLE_USER,
    LOGOUT,
    REGENERATE,
    RESET_USER,
    SET_SWITCH,
    UPDATE_RULES,
    USERS,
    VERIFY_RECOVERY,
    admin_token,
    align_to_step_start,
    enroll,
    pending_totp_token,
    try_login,
    verify,
    wrong_code,
)


async def test_full_cycle_audit_trail_without_secrets(client: GraphQLClient) -> None:
    align_to_step_start()
    domain = await make_domain(two_factor=False)
    admin, admin_session = await admin_token(client, domain)
    user = await make_user(domain)
    outsider = await make_user(domain)
    outsider_token = (await try_login(client, outsider.email)).ok()["login"]["token"]
    sensitive: list[str] = [PASSWORD, admin_session, outsider_token]

    (await client.execute(SET_SWITCH, {"enabled": True}, token=admin_session)).ok()
    rules = {"input": {"enrollmentGracePeriodHours": 0, "minPasswordLength": 13}}
    (await client.execute(UPDATE_RULES, rules, token=admin_session)).ok()
    (await client.execute(ENABLE_USER, {"id": str(user.id)}, token=admin_session)).ok()
    assert (await client.execute(USERS, token=outsider_token)).code == "FORBIDDEN"
    assert (
        await try_login(client, user.email, "wrong-password-here")
    ).code == "INVALID_CREDENTIALS"

    enrolled = await enroll(client, user.email)
    sensitive += [enrolled.secret, enrolled.enrollment["otpauthUri"], enrolled.token]
    sensitive += enrolled.recovery_codes + [c.replace("-", "") for c in enrolled.recovery_codes]
    codes = [code_for(enrolled.secret)]
    pending = await pending_totp_token(client, user.email)
    bad = wrong_code(enrolled.secret)
    for _ in range(5):
        assert (await verify(client, pending, bad)).code == "INVALID_CODE"
    codes.append(bad)
    clock.travel(timedelta(seconds=31))
    pending = await pending_totp_token(client, user.email)
    codes.append(code_for(enrolled.secret, steps_ahead=1))
    verified = (await verify(client, pending, codes[-1])).ok()["verifyTotp"]["token"]
    sensitive += [pending, verified]
    clock.travel(timedelta(seconds=30))
    codes.append(code_for(enrolled.secret, steps_ahead=1))
    regenerated = (await client.execute(REGENERATE, {"code": codes[-1]}, token=verified)).ok()
    sensitive += regenerated["regenerateRecoveryCodes"]
    pending = await pending_totp_token(client, user.email)
    used = await client.execute(
        VERIFY_RECOVERY, {"code": regenerated["regenerateRecoveryCodes"][0]}, token=pending
    )
    recovered = used.ok()["verifyRecoveryCode"]["token"]
    sensitive += [pending, recovered]
    (await client.execute(LOGOUT, token=recovered)).ok()
    (await client.execute(DISABLE_USER, {"id": str(user.id)}, token=admin_session)).ok()
    (await client.execute(RESET_USER, {"id": str(user.id)}, token=admin_session)).ok()
    (await client.execute(SET_SWITCH, {"enabled": False}, token=admin_session)).ok()

    events = await AuditEvent.all().order_by("id")
    by_action: dict[str, list[AuditEvent]] = {}
    for event in events:
        by_action.setdefault(event.action, []).append(event)
        assert event.ip == "203.0.113.7", event.action
        assert event.request_id, event.action
        assert event.domain_id == domain.id, event.action
    expected = {
        # action: (actor, target, outcome)
        "DOMAIN_TWO_FACTOR_ENABLED": (admin.id, None, "SUCCESS"),
        "PASSWORD_RULES_UPDATED": (admin.id, None, "SUCCESS"),
        "USER_TWO_FACTOR_ENABLED": (admin.id, user.id, "SUCCESS"),
        "ACCESS_DENIED": (outsider.id, None, "FAILURE"),
        "LOGIN_FAILED": (None, user.id, "FAILURE"),
        "TOTP_ENROLLMENT_STARTED": (user.id, user.id, "SUCCESS"),
        "TOTP_ENROLLED": (user.id, user.id, "SUCCESS"),
        "TOTP_VERIFICATION_FAILED": (user.id, user.id, "FAILURE"),
        "TOTP_LOCKED_OUT": (user.id, user.id, "FAILURE"),
        "TOTP_VERIFIED": (user.id, user.id, "SUCCESS"),
        "RECOVERY_CODES_REGENERATED": (user.id, user.id, "SUCCESS"),
        "RECOVERY_CODE_USED": (user.id, user.id, "SUCCESS"),
        "LOGOUT": (user.id, user.id, "SUCCESS"),
        "USER_TWO_FACTOR_DISABLED": (admin.id, user.id, "SUCCESS"),
        "USER_TWO_FACTOR_RESET": (admin.id, user.id, "SUCCESS"),
        "DOMAIN_TWO_FACTOR_DISABLED": (admin.id, None, "SUCCESS"),
    }
    for action, (actor, target, outcome) in expected.items():
        assert action in by_action, (action, sorted(by_action))
        event = by_action[action][0]
        assert (event.actor_id, event.target_id, event.outcome) == (actor, target, outcome), action
    assert len(by_action["TOTP_VERIFICATION_FAILED"]) == 5
    assert len(by_action["TOTP_LOCKED_OUT"]) == 1
    assert len(by_action["LOGIN_SUCCEEDED"]) == 6

    rows = await connections.get("default").execute_query_dict('SELECT * FROM "audit_events"')
    assert len(rows) == len(events)
    for row in rows:
        text = " ".join(str(value) for value in row.values())
        assert "otpauth" not in text.lower()
        for value in sensitive:
            assert value not in text, (row["action"], value)
        for code in codes:
            assert not re.search(rf"(?<!\d){code}(?!\d)", text), (row["action"], code)


async def test_refusals_are_audited_with_the_operation(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    auditor = await make_user(domain, roles=[Role.AUDITOR])
    target = await make_user(domain)
    token = (await try_login(client, auditor.email)).ok()["login"]["token"]
    for document in (ENABLE_USER, DISABLE_USER, RESET_USER):
        assert (await client.execute(document, {"id": str(target.id)}, token=token)).code == (
            "FORBIDDEN"
        )
    denied = await AuditEvent.filter(action="ACCESS_DENIED").order_by("id")
    assert [e.details["operation"] for e in denied] == [  # type: ignore[index]
        "enableUserTwoFactor",
        "disableUserTwoFactor",
        "resetUserTwoFactor",
    ]
    assert {e.actor_id for e in denied} == {auditor.id}
