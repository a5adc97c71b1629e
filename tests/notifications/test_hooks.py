"""Each change to a user's second factor writes its message exactly once, in the change's
own transaction; a no-op, a refusal and a rollback write none."""

from typing import Any

import pytest

from gql_portal.accounts.models import PasswordSecurityRules, Role, User
from gql_portal.audit.models import AuditEvent
from gql_portal.notifications import notices
from gql_portal.notifications.models import NotificationKind
from tests.factories import make_domain, make_user
from tests.graphql import GraphQLClient
from tests.notifications.helpers import kinds_for, queued_job, rows
from tests.two_factor.helpers import (
    DISABLE_USER,
    ENABLE_USER,
    REGENERATE,
    RESET_USER,
    VERIFY_RECOVERY,
    admin_token,
    align_to_step_start,
    code_for,
    enrolled_user,
    login,
    next_step,
    pending_totp_token,
    verify,
    wrong_code,
)

K = NotificationKind


async def _admin_call(
    client: GraphQLClient, mutation: str, user: User, token: str
) -> dict[str, Any]:
    return (await client.execute(mutation, {"id": str(user.id)}, token=token)).ok()


async def test_enabling_writes_one_message_with_the_deadline_and_a_repeat_none(
    client: GraphQLClient,
) -> None:
    domain = await make_domain(two_factor=True)
    await PasswordSecurityRules.filter(domain_id=domain.id).update(enrollment_grace_period_hours=48)
    _, token = await admin_token(client, domain)
    user = await make_user(domain)
    await _admin_call(client, ENABLE_USER, user, token)
    await _admin_call(client, ENABLE_USER, user, token)  # already enabled: no change, no mail
    [row] = await rows(K.TWO_FACTOR_ENABLED)
    stored = await User.get(id=user.id)
    assert stored.enrollment_deadline is not None
    assert row.recipient == user.email and row.user_id == user.id
    assert row.params == {"via": "admin", "deadline": stored.enrollment_deadline.isoformat()}


async def test_disable_and_reset_name_the_administrator_once_each(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    admin = await make_user(domain, roles=[Role.SECURITY_ADMIN], display_name="Ada <b>Admin</b>")
    token = (await login(client, admin.email))["token"]
    user, _ = await enrolled_user(client, domain)
    await _admin_call(client, RESET_USER, user, token)
    await _admin_call(client, RESET_USER, user, token)  # nothing left to reset: no mail
    await _admin_call(client, DISABLE_USER, user, token)
    await _admin_call(client, DISABLE_USER, user, token)  # already off: no mail
    assert await kinds_for(user.id) == [
        "AUTHENTICATOR_ADDED",
        "TWO_FACTOR_RESET",
        "TWO_FACTOR_DISABLED",
    ]
    for row in await rows(user_id=user.id):
        if row.kind != "AUTHENTICATOR_ADDED":
            assert row.params == {"byName": "Ada <b>Admin</b>", "byEmail": admin.email}


async def test_another_domains_user_gets_no_message(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    other = await make_domain(two_factor=True)
    _, token = await admin_token(client, domain, roles=[Role.SECURITY_ADMIN])
    stranger = await make_user(other, two_factor_enabled=False)
    for mutation in (ENABLE_USER, DISABLE_USER, RESET_USER):
        result = await client.execute(mutation, {"id": str(stranger.id)}, token=token)
        assert result.code == "NOT_FOUND"
    assert await rows() == []


async def test_a_user_without_the_role_gets_forbidden_and_no_message(
    client: GraphQLClient,
) -> None:
    domain = await make_domain(two_factor=True)
    _, token = await admin_token(client, domain, roles=[Role.AUDITOR])
    user = await make_user(domain)
    result = await client.execute(ENABLE_USER, {"id": str(user.id)}, token=token)
    assert result.code == "FORBIDDEN"
    assert await rows() == []


async def test_enrollment_recovery_code_and_regeneration_each_write_one(
    client: GraphQLClient,
) -> None:
    domain = await make_domain(two_factor=True)
    align_to_step_start()
    user, enrolled = await enrolled_user(client, domain)
    [added] = await rows(K.AUTHENTICATOR_ADDED)
    assert added.params == {"ip": "203.0.113.7"}
    # A wrong recovery code changes nothing and tells nothing.
    token = await pending_totp_token(client, user.email)
    wrong = await client.execute(VERIFY_RECOVERY, {"code": "aaaa-bbbb-cccc-dddd"}, token=token)
    assert wrong.code == "INVALID_CODE"
    assert await rows(K.RECOVERY_CODE_USED) == []
    used = await client.execute(VERIFY_RECOVERY, {"code": enrolled.recovery_codes[0]}, token=token)
    session = used.ok()["verifyRecoveryCode"]["token"]
    [row] = await rows(K.RECOVERY_CODE_USED)
    assert row.params == {"remaining": 9, "ip": "203.0.113.7"}
    next_step()
    result = await client.execute(REGENERATE, {"code": code_for(enrolled.secret)}, token=session)
    codes = result.ok()["regenerateRecoveryCodes"]
    assert len(await rows(K.RECOVERY_CODES_REGENERATED)) == 1
    assert await kinds_for(user.id) == [
        "AUTHENTICATOR_ADDED",
        "RECOVERY_CODE_USED",
        "RECOVERY_CODES_REGENERATED",
    ]
    # No code, secret or recovery code is stored in any message.
    for stored in await rows():
        text = repr(stored.params)
        assert enrolled.secret not in text
        assert not any(code in text for code in [*codes, *enrolled.recovery_codes])


async def test_the_lock_writes_one_message_per_lock(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    align_to_step_start()
    user, enrolled = await enrolled_user(client, domain)
    token = await pending_totp_token(client, user.email)
    for _ in range(5):
        assert (await verify(client, token, wrong_code(enrolled.secret))).code == "INVALID_CODE"
    refused = await verify(client, token, wrong_code(enrolled.secret))
    assert refused.code == "TOO_MANY_ATTEMPTS"  # refused while locked: no second message
    [row] = await rows(K.CODE_STEP_LOCKED)
    stored = await User.get(id=user.id)
    assert stored.code_locked_until is not None
    assert row.params == {"lockedUntil": stored.code_locked_until.isoformat()}
    assert await AuditEvent.filter(action="TOTP_LOCKED_OUT").count() == 1


async def test_a_change_that_fails_after_its_message_leaves_neither(
    client: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    domain = await make_domain(two_factor=True)
    _, token = await admin_token(client, domain)
    user = await make_user(domain)
    written = notices.two_factor_enabled

    async def write_then_fail(*args: Any) -> None:
        await written(*args)
        assert len(await rows()) == 0  # not visible outside the change's transaction
        raise RuntimeError("the change fails after its message was written")

    monkeypatch.setattr(notices, "two_factor_enabled", write_then_fail)
    result = await client.execute(ENABLE_USER, {"id": str(user.id)}, token=token)
    assert result.code == "INTERNAL_SERVER_ERROR"
    assert await rows() == []
    assert not (await User.get(id=user.id)).two_factor_enabled
    assert await AuditEvent.filter(action="USER_TWO_FACTOR_ENABLED").count() == 0


async def test_no_rendered_message_holds_a_secret_a_code_or_a_token(
    client: GraphQLClient,
) -> None:
    """A real walk through most kinds; every row rendered and scanned for what it must not
    show: the TOTP secret, an otpauth URI, codes used or shown, recovery codes, tokens and
    the password."""
    from datetime import timedelta

    from gql_portal.bulk.runner import run_bulk_job
    from gql_portal.clock import utcnow
    from gql_portal.notifications.messages import render
    from gql_portal.notifications.reminders import send_enrollment_reminders
    from tests.factories import PASSWORD

    domain = await make_domain(two_factor=True)
    await PasswordSecurityRules.filter(domain_id=domain.id).update(enrollment_grace_period_hours=30)
    admin, token = await admin_token(client, domain)
    align_to_step_start()
    user, enrolled = await enrolled_user(client, domain)
    secrets = [enrolled.secret, "otpauth://", PASSWORD, token, enrolled.token]
    secrets += enrolled.recovery_codes
    secrets += [code.replace("-", "") for code in enrolled.recovery_codes]
    pending = await pending_totp_token(client, user.email)
    secrets.append(pending)
    for _ in range(5):
        wrong = wrong_code(enrolled.secret)
        secrets.append(wrong)
        await verify(client, pending, wrong)
    await User.filter(id=user.id).update(code_failures=0, code_locked_until=None)
    fresh = await pending_totp_token(client, user.email)
    used = await client.execute(VERIFY_RECOVERY, {"code": enrolled.recovery_codes[1]}, token=fresh)
    session = used.ok()["verifyRecoveryCode"]["token"]
    next_step()
    code = code_for(enrolled.secret)
    secrets += [fresh, session, code]
    new_codes = (await client.execute(REGENERATE, {"code": code}, token=session)).ok()
    secrets += new_codes["regenerateRecoveryCodes"]
    await _admin_call(client, RESET_USER, user, token)
    await _admin_call(client, DISABLE_USER, user, token)
    late = await make_user(domain)
    await _admin_call(client, ENABLE_USER, late, token)
    await User.filter(id=late.id).update(two_factor_enabled_at=utcnow() - timedelta(days=3))
    await send_enrollment_reminders()
    await make_user(domain)
    job = await queued_job(domain.id, admin)
    await run_bulk_job(job.id)
    stored = await rows()
    assert {row.kind for row in stored} >= {
        "AUTHENTICATOR_ADDED",
        "CODE_STEP_LOCKED",
        "RECOVERY_CODE_USED",
        "RECOVERY_CODES_REGENERATED",
        "TWO_FACTOR_RESET",
        "TWO_FACTOR_DISABLED",
        "TWO_FACTOR_ENABLED",
        "ENROLLMENT_REMINDER",
        "JOB_FINISHED",
    }
    for row in stored:
        rendered = render(row)
        for text in (rendered.subject, rendered.text, rendered.html, repr(row.params)):
            for secret in secrets:
                assert secret not in text, (row.kind, secret)
