"""Sessions when 2FA becomes (or stops being) required, and CONTRACT's rules at the edges."""

from datetime import timedelta

from gql_portal import clock
from gql_portal.accounts.models import Role, Session, User
from gql_portal.audit.models import AuditEvent
from gql_portal.two_factor.models import RecoveryCode, TotpAuthenticator, TotpEnrollment
from tests.factories import code_for, make_domain, make_user, secret_from_uri
from tests.graphql import GraphQLClient
from tests.two_factor.helpers import (
    BEGIN,
    CONFIRM,
    DISABLE_USER,
    DOMAIN,
    ENABLE_USER,
    RESET_USER,
    SET_SWITCH,
    STATS,
    UPDATE_RULES,
    USERS,
    admin_token,
    align_to_step_start,
    begin,
    enroll_with_token,
    enrolled_user,
    login,
    me,
    pending_totp_token,
    verify,
    wrong_code,
)


async def _switch(client: GraphQLClient, token: str, enabled: bool) -> None:
    (await client.execute(SET_SWITCH, {"enabled": enabled}, token=token)).ok()


async def _call(client: GraphQLClient, document: str, user: User, token: str) -> None:
    (await client.execute(document, {"id": str(user.id)}, token=token)).ok()


async def test_admin_enabling_gates_live_sessions(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    _, admin = await admin_token(client, domain)
    reader = await make_user(domain, roles=[Role.AUDITOR])
    session = (await login(client, reader.email))["token"]
    assert (await client.execute(USERS, token=session)).ok()
    await _call(client, ENABLE_USER, reader, admin)
    for document in (USERS, DOMAIN):
        result = await client.execute(document, token=session)
        assert result.code == "TWO_FACTOR_REQUIRED"
        assert result.errors[0]["extensions"]["status"] == "ENROLLMENT_REQUIRED"
    assert (await me(client, session)).ok()["me"]["twoFactor"]["state"] == "PENDING_ENROLLMENT"
    enrolled = await enroll_with_token(client, session)
    assert (await client.execute(USERS, token=enrolled.token)).ok()
    assert (await me(client, session)).code == "UNAUTHENTICATED"


async def test_switch_on_gates_an_enabled_users_sessions(client: GraphQLClient) -> None:
    align_to_step_start()
    domain = await make_domain(two_factor=True)
    _, admin = await admin_token(client, domain)
    reader, enrolled = await enrolled_user(client, domain, roles=[Role.AUDITOR])
    await _switch(client, admin, False)
    plain = await login(client, reader.email)
    assert plain["status"] == "AUTHENTICATED"
    assert (await client.execute(USERS, token=plain["token"])).ok()
    await _switch(client, admin, True)
    assert (await client.execute(USERS, token=plain["token"])).code == "TWO_FACTOR_REQUIRED"
    assert (await me(client, plain["token"])).ok()["me"]["twoFactor"]["state"] == "ENROLLED"
    # The session that passed the second factor during enrollment stays AUTHENTICATED.
    assert (await client.execute(USERS, token=enrolled.token)).ok()
    passed = await verify(client, plain["token"], code_for(enrolled.secret, steps_ahead=1))
    assert (await client.execute(USERS, token=passed.ok()["verifyTotp"]["token"])).ok()


async def test_second_factor_sessions_survive_disable_then_enable(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    _, admin = await admin_token(client, domain)
    reader, enrolled = await enrolled_user(client, domain, roles=[Role.AUDITOR])
    await _call(client, DISABLE_USER, reader, admin)
    await _call(client, ENABLE_USER, reader, admin)
    await _switch(client, admin, False)
    await _switch(client, admin, True)
    assert (await client.execute(USERS, token=enrolled.token)).ok()


async def test_gated_session_is_authenticated_again_when_the_requirement_is_lifted(
    client: GraphQLClient,
) -> None:
    domain = await make_domain(two_factor=True)
    _, admin = await admin_token(client, domain)
    reader = await make_user(domain, roles=[Role.AUDITOR])
    session = (await login(client, reader.email))["token"]
    await _call(client, ENABLE_USER, reader, admin)
    assert (await client.execute(USERS, token=session)).code == "TWO_FACTOR_REQUIRED"
    await _call(client, DISABLE_USER, reader, admin)
    assert (await client.execute(USERS, token=session)).ok()
    await _call(client, ENABLE_USER, reader, admin)
    assert (await client.execute(USERS, token=session)).code == "TWO_FACTOR_REQUIRED"
    await _switch(client, admin, False)
    assert (await client.execute(USERS, token=session)).ok()


async def test_issued_pending_stays_pending_when_the_requirement_is_lifted(
    client: GraphQLClient,
) -> None:
    align_to_step_start()
    domain = await make_domain(two_factor=True)
    _, admin = await admin_token(client, domain)
    reader, enrolled = await enrolled_user(client, domain, roles=[Role.AUDITOR])
    fresh = await make_user(domain, roles=[Role.AUDITOR], two_factor_enabled=True)
    verifying = await pending_totp_token(client, reader.email)
    enrolling = (await login(client, fresh.email))["token"]
    await _switch(client, admin, False)
    await _call(client, DISABLE_USER, fresh, admin)
    for token in (verifying, enrolling):
        assert (await client.execute(USERS, token=token)).code == "TWO_FACTOR_REQUIRED"
    # A new login is AUTHENTICATED; the pending step still works.
    assert (await login(client, reader.email))["status"] == "AUTHENTICATED"
    done = await verify(client, verifying, code_for(enrolled.secret, steps_ahead=1))
    assert done.ok()["verifyTotp"]["status"] == "AUTHENTICATED"
    finished = await enroll_with_token(client, enrolling)
    assert (await client.execute(USERS, token=finished.token)).ok()


async def test_pending_step_follows_the_users_current_state(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    _, admin = await admin_token(client, domain)
    reader, enrolled = await enrolled_user(client, domain, roles=[Role.AUDITOR])
    verifying = await pending_totp_token(client, reader.email)
    await _call(client, RESET_USER, reader, admin)  # revokes it
    assert (await me(client, verifying)).code == "UNAUTHENTICATED"
    assert (await me(client, enrolled.token)).code == "UNAUTHENTICATED"
    again = await login(client, reader.email)
    assert again["status"] == "ENROLLMENT_REQUIRED"
    result = await client.execute(USERS, token=again["token"])
    assert (
        result.errors[0]["extensions"].get("status", "ENROLLMENT_REQUIRED") == "ENROLLMENT_REQUIRED"
    )


async def test_disable_keeps_authenticator_guard_counter_and_lock(client: GraphQLClient) -> None:
    align_to_step_start()
    domain = await make_domain(two_factor=True)
    _, admin = await admin_token(client, domain)
    user, enrolled = await enrolled_user(client, domain)
    pending = await pending_totp_token(client, user.email)
    for _ in range(5):
        assert (await verify(client, pending, wrong_code(enrolled.secret))).code == "INVALID_CODE"
    before = await User.get(id=user.id)
    authenticator = await TotpAuthenticator.get(user_id=user.id)
    await _call(client, DISABLE_USER, user, admin)
    after = await User.get(id=user.id)
    assert after.two_factor_enabled is False
    assert (after.code_failures, after.code_locked_until) == (5, before.code_locked_until)
    kept = await TotpAuthenticator.get(user_id=user.id)
    assert (kept.secret_encrypted, kept.last_used_step) == (
        authenticator.secret_encrypted,
        authenticator.last_used_step,
    )
    assert await RecoveryCode.filter(user_id=user.id).count() == 10
    assert (await login(client, user.email))["status"] == "AUTHENTICATED"
    enabled = (await client.execute(ENABLE_USER, {"id": str(user.id)}, token=admin)).ok()
    assert enabled["enableUserTwoFactor"]["twoFactor"]["state"] == "ENROLLED"
    assert enabled["enableUserTwoFactor"]["twoFactor"]["lockedUntil"] is not None
    pending = await pending_totp_token(client, user.email)
    assert (await verify(client, pending, code_for(enrolled.secret, steps_ahead=1))).code == (
        "TOO_MANY_ATTEMPTS"
    )
    clock.travel(timedelta(seconds=31))
    assert (await verify(client, pending, code_for(enrolled.secret))).ok()


async def test_disable_discards_an_unconfirmed_secret(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    _, admin = await admin_token(client, domain)
    user = await make_user(domain, two_factor_enabled=True)
    token = (await login(client, user.email))["token"]
    secret = secret_from_uri((await begin(client, token))["otpauthUri"])
    await _call(client, DISABLE_USER, user, admin)
    assert await TotpEnrollment.filter(user_id=user.id).count() == 0
    result = await client.execute(CONFIRM, {"code": code_for(secret)}, token=token)
    assert result.code == "BAD_USER_INPUT"


async def test_reset_deletes_unlocks_and_revokes(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    _, admin = await admin_token(client, domain)
    user, enrolled = await enrolled_user(client, domain)
    pending = await pending_totp_token(client, user.email)
    for _ in range(5):
        await verify(client, pending, wrong_code(enrolled.secret))
    await _switch(client, admin, False)  # reset is allowed while the switch is off
    reset = (await client.execute(RESET_USER, {"id": str(user.id)}, token=admin)).ok()
    assert reset["resetUserTwoFactor"]["twoFactor"]["lockedUntil"] is None
    assert reset["resetUserTwoFactor"]["twoFactor"]["enabled"] is True
    assert await TotpAuthenticator.filter(user_id=user.id).count() == 0
    assert await RecoveryCode.filter(user_id=user.id).count() == 0
    assert await Session.filter(user_id=user.id, revoked_at=None).count() == 0
    stored = await User.get(id=user.id)
    assert (stored.code_failures, stored.code_locked_until, stored.two_factor_enabled) == (
        0,
        None,
        True,
    )
    for token in (pending, enrolled.token):
        assert (await me(client, token)).code == "UNAUTHENTICATED"
    await _switch(client, admin, True)
    assert (await login(client, user.email))["status"] == "ENROLLMENT_REQUIRED"


async def test_reset_is_allowed_for_a_disabled_user(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    _, admin = await admin_token(client, domain)
    user, _ = await enrolled_user(client, domain)
    await _call(client, DISABLE_USER, user, admin)
    await _call(client, RESET_USER, user, admin)
    assert await TotpAuthenticator.filter(user_id=user.id).count() == 0
    await _call(client, ENABLE_USER, user, admin)
    assert (await login(client, user.email))["status"] == "ENROLLMENT_REQUIRED"


async def test_no_op_operations_succeed_and_write_no_audit_event(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    _, admin = await admin_token(client, domain)
    enabled = await make_user(domain, two_factor_enabled=True)
    disabled = await make_user(domain)
    count = await AuditEvent.all().count()
    on = (await client.execute(SET_SWITCH, {"enabled": True}, token=admin)).ok()
    assert on["setDomainTwoFactor"]["twoFactorEnabled"] is True
    again = (await client.execute(ENABLE_USER, {"id": str(enabled.id)}, token=admin)).ok()
    assert again["enableUserTwoFactor"]["twoFactor"]["state"] == "PENDING_ENROLLMENT"
    off = (await client.execute(DISABLE_USER, {"id": str(disabled.id)}, token=admin)).ok()
    assert off["disableUserTwoFactor"]["twoFactor"]["state"] == "DISABLED"
    same = await client.execute(
        UPDATE_RULES, {"input": {"enrollmentGracePeriodHours": 0}}, token=admin
    )
    assert same.ok()["updatePasswordSecurityRules"]["enrollmentGracePeriodHours"] == 0
    # A user with no authenticator, codes, lock or sessions has nothing to reset.
    nothing = (await client.execute(RESET_USER, {"id": str(disabled.id)}, token=admin)).ok()
    assert nothing["resetUserTwoFactor"]["twoFactor"]["state"] == "DISABLED"
    assert await AuditEvent.all().count() == count
    await _switch(client, admin, False)
    count = await AuditEvent.all().count()
    await _switch(client, admin, False)
    assert await AuditEvent.all().count() == count


async def test_two_factor_stats_count_stored_settings(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    other = await make_domain(two_factor=True)
    await make_user(other, two_factor_enabled=True)
    admin_user, admin = await admin_token(client, domain)
    del admin_user
    enrolled_a, a = await enrolled_user(client, domain)
    await enrolled_user(client, domain)
    await make_user(domain, two_factor_enabled=True)
    await make_user(domain)
    pending = await pending_totp_token(client, enrolled_a.email)
    for _ in range(5):
        await verify(client, pending, wrong_code(a.secret))
    expected = {"users": 5, "enabled": 3, "enrolled": 2, "pendingEnrollment": 1, "lockedOut": 1}
    stats = (await client.execute(STATS, token=admin)).ok()["domain"]["twoFactorStats"]
    assert stats == expected
    await _switch(client, admin, False)  # whatever the switch says
    stats = (await client.execute(STATS, token=admin)).ok()["domain"]["twoFactorStats"]
    assert stats == expected
    clock.travel(timedelta(seconds=31))
    stats = (await client.execute(STATS, token=admin)).ok()["domain"]["twoFactorStats"]
    assert stats == {**expected, "lockedOut": 0}


async def test_stats_are_refused_to_a_plain_user_with_an_audit_event(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user = await make_user(domain)
    token = (await login(client, user.email))["token"]
    result = await client.execute(STATS, token=token)
    assert result.code == "FORBIDDEN"
    assert await AuditEvent.filter(action="ACCESS_DENIED", actor_id=user.id).count() == 1


async def test_grace_period_then_gate(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    _, admin = await admin_token(client, domain)
    rules = await client.execute(
        UPDATE_RULES, {"input": {"enrollmentGracePeriodHours": 1}}, token=admin
    )
    assert rules.ok()["updatePasswordSecurityRules"]["enrollmentGracePeriodHours"] == 1
    reader = await make_user(domain, roles=[Role.AUDITOR])
    await _call(client, ENABLE_USER, reader, admin)
    first = await login(client, reader.email)
    assert first["status"] == "AUTHENTICATED"
    assert first["enrollmentDeadline"] is not None
    shown = (await me(client, first["token"])).ok()["me"]["twoFactor"]
    assert shown["enrollmentDeadline"] == first["enrollmentDeadline"]
    assert shown["state"] == "PENDING_ENROLLMENT"
    assert (await client.execute(USERS, token=first["token"])).ok()
    assert (await client.execute(BEGIN, token=first["token"])).ok()  # may enroll early
    for _ in range(3):  # sessions idle out after 30 minutes: keep this one in use
        clock.travel(timedelta(minutes=19, seconds=59))
        assert (await client.execute(USERS, token=first["token"])).ok()
    clock.travel(timedelta(seconds=4))
    gated = await client.execute(USERS, token=first["token"])
    assert gated.code == "TWO_FACTOR_REQUIRED"
    assert (
        gated.errors[0]["extensions"].get("status", "ENROLLMENT_REQUIRED") == "ENROLLMENT_REQUIRED"
    )
    later = await login(client, reader.email)
    assert later["status"] == "ENROLLMENT_REQUIRED" and later["enrollmentDeadline"] is None
    enrolled = await enroll_with_token(client, later["token"])
    assert (await client.execute(USERS, token=enrolled.token)).ok()
