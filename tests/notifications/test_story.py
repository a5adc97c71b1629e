"""The whole story with real mail (aiosmtpd, the outbox's own delivery): enable -> a mail with
the deadline -> a reminder -> enrollment -> "authenticator added" -> a recovery code used ->
a reset by an administrator. One mail per step, to the user, and no secret in any of them."""

from datetime import timedelta
from email.message import EmailMessage

import pytest

from gql_portal.accounts.models import PasswordSecurityRules, Role, User
from gql_portal.clock import utcnow
from gql_portal.notifications.delivery import RateLimiter, deliver_batch
from gql_portal.notifications.messages import when
from gql_portal.notifications.reminders import send_enrollment_reminders
from gql_portal.notifications.transport import transport_for
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient
from tests.notifications.smtp_servers import Mailbox, smtp_server
from tests.notifications.support import row_id, smtp_settings
from tests.two_factor.helpers import (
    ENABLE_USER,
    LOGOUT,
    RESET_USER,
    VERIFY_RECOVERY,
    align_to_step_start,
    enroll_with_token,
    login,
    pending_totp_token,
)

pytestmark = pytest.mark.usefixtures("database")


async def _delivered(mailbox: Mailbox, before: int) -> list[EmailMessage]:
    settings = smtp_settings(mailbox.port)
    await deliver_batch(transport_for(settings), settings, RateLimiter(settings.mail_rate))
    return [item.message for item in mailbox.received[before:]]


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


async def test_the_whole_story_reaches_the_user_by_mail(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    await PasswordSecurityRules.filter(domain_id=domain.id).update(enrollment_grace_period_hours=96)
    admin = await make_user(domain, roles=[Role.SECURITY_ADMIN], display_name="Ada Admin")
    admin_token = (await login(client, admin.email))["token"]
    user = await make_user(domain)
    secrets = [PASSWORD, admin_token]
    received: list[EmailMessage] = []

    with smtp_server() as mailbox:

        async def step(subject: str) -> str:
            new = await _delivered(mailbox, len(received))
            received.extend(new)
            assert [message["Subject"] for message in new] == [subject]
            assert new[0]["To"] == user.email
            return _text(new[0])

        # 1. Enabled by an administrator: the mail names the deadline.
        (await client.execute(ENABLE_USER, {"id": str(user.id)}, token=admin_token)).ok()
        deadline = (await User.get(id=user.id)).enrollment_deadline
        assert deadline is not None
        text = await step("Two-factor authentication is now required for your account")
        assert f"before {when(deadline)}" in text

        # 2. 30 hours before the deadline (the rows move, the clock does not): the reminder,
        # once however often the cron runs.
        now = utcnow()
        await User.filter(id=user.id).update(
            two_factor_enabled_at=now - timedelta(days=3),
            enrollment_deadline=now + timedelta(hours=30),
        )
        moved = (await User.get(id=user.id)).enrollment_deadline
        await send_enrollment_reminders()
        await send_enrollment_reminders()
        text = await step(f"Reminder: set up two-factor authentication before {when(moved)}")
        assert "in less than 72 hours" in text

        # 3. The user enrolls within the grace period: "an authenticator app was added".
        align_to_step_start()
        session = (await login(client, user.email))["token"]
        enrolled = await enroll_with_token(client, session)
        secrets += [enrolled.secret, session, enrolled.token, "otpauth://"]
        secrets += enrolled.recovery_codes
        text = await step("An authenticator app was added to your account")
        assert "203.0.113.7" in text and "If this was not you" in text

        # 4. A recovery code signs the user in: how many are left.
        await client.execute(LOGOUT, token=enrolled.token)
        pending = await pending_totp_token(client, user.email)
        used = await client.execute(
            VERIFY_RECOVERY, {"code": enrolled.recovery_codes[0]}, token=pending
        )
        secrets += [pending, used.ok()["verifyRecoveryCode"]["token"]]
        text = await step("A recovery code was used to sign in")
        assert "Recovery codes left: 9." in text

        # 5. Lost device: the administrator resets it, and is named.
        (await client.execute(RESET_USER, {"id": str(user.id)}, token=admin_token)).ok()
        text = await step("Two-factor authentication was reset for your account")
        assert f"Ada Admin ({admin.email}) reset two-factor authentication" in text

        assert len(received) == 5
        for message in received:
            assert row_id(str(message["Message-ID"]))  # derived from its outbox row
            raw = message.as_string()
            html = message.get_body(("html",))
            assert html is not None
            shown = (raw, _text(message), str(html.get_content()), str(message["Subject"]))
            for secret in secrets:
                assert not any(secret in part for part in shown), secret
