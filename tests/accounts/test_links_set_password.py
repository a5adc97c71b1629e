"""setPassword over real HTTP: single use, the domain's minimum length, every session
revoked, the password throttle cleared, audited; bad tokens throttled per client IP."""

import asyncio
from datetime import timedelta

from starlette.applications import Starlette

from gql_portal.accounts.link_throttle import LIMITS, LinkScope
from gql_portal.accounts.models import AccountLink, AccountLinkPurpose, PasswordSecurityRules, User
from gql_portal.accounts.throttle import LOCK_AFTER_FAILURES
from gql_portal.audit.models import AuditEvent
from gql_portal.clock import utcnow
from gql_portal.notifications.models import Notification
from tests.accounts.links_helpers import NEW_PASSWORD, SET_PASSWORD, new_link
from tests.accounts.login_clients import client_from
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient, Result

ME = "{ me { email } }"
INVITATION = AccountLinkPurpose.INVITATION
RESET = AccountLinkPurpose.PASSWORD_RESET


async def set_password(
    client: GraphQLClient, link: str, password: str = NEW_PASSWORD, *, bearer: str | None = None
) -> Result:
    return await client.execute(SET_PASSWORD, {"token": link, "password": password}, token=bearer)


async def test_an_invited_user_sets_a_password_and_signs_in(client: GraphQLClient) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    await User.filter(id=user.id).update(password_hash="")
    token = await new_link(user, INVITATION)
    assert (await set_password(client, token)).ok() == {"setPassword": True}
    payload = await client.login(user.email, NEW_PASSWORD)
    assert payload["status"] == "AUTHENTICATED"
    stored = await User.get(id=user.id)
    assert stored.password_changed_at is not None and stored.password_hash.startswith("$argon2id$")
    event = await AuditEvent.get(action="PASSWORD_CHANGED")
    assert event.target_id == user.id and event.actor_id == user.id
    assert event.domain_id == domain.id and event.ip == "203.0.113.7"
    assert event.details == {"via": "link", "purpose": "INVITATION"}
    # A first password is no change: no "your password was changed" mail.
    assert not await Notification.filter(kind="PASSWORD_CHANGED").exists()


async def test_a_reset_mails_password_changed_in_its_transaction(client: GraphQLClient) -> None:
    user = await make_user(await make_domain())
    token = await new_link(user, RESET)
    (await set_password(client, token)).ok()
    mail = await Notification.get(kind="PASSWORD_CHANGED")
    assert (mail.user_id, mail.recipient, mail.domain_id) == (user.id, user.email, user.domain_id)
    # A refused use (the link is spent) writes none.
    assert (await set_password(client, token)).code == "BAD_USER_INPUT"
    assert await Notification.filter(kind="PASSWORD_CHANGED").count() == 1


async def test_a_link_works_once(client: GraphQLClient) -> None:
    user = await make_user(await make_domain())
    token = await new_link(user, RESET)
    assert (await set_password(client, token)).ok()["setPassword"] is True
    again = await set_password(client, token, "yet-another-password")
    assert again.code == "BAD_USER_INPUT"
    assert again.errors[0]["extensions"]["field"] == "token"
    assert again.errors[0]["message"] == "This link has expired or was already used"
    assert (await client.login(user.email, NEW_PASSWORD))["token"]


async def test_bad_used_expired_and_deactivated_answer_alike(client: GraphQLClient) -> None:
    domain = await make_domain()
    used, expired, deactivated = [await make_user(domain) for _ in range(3)]
    used_token = await new_link(used, RESET)
    (await set_password(client, used_token)).ok()
    expired_token = await new_link(expired, RESET)
    await AccountLink.filter(user_id=expired.id).update(expires_at=utcnow() - timedelta(seconds=1))
    deactivated_token = await new_link(deactivated, INVITATION)
    await User.filter(id=deactivated.id).update(active=False)
    answers = []
    for token in ["no-such-token", used_token, expired_token, deactivated_token, ""]:
        result = await set_password(client, token)
        extensions = {k: v for k, v in result.errors[0]["extensions"].items() if k != "requestId"}
        answers.append((result.errors[0]["message"], extensions))
    assert all(answer == answers[0] for answer in answers), answers
    assert answers[0][1]["code"] == "BAD_USER_INPUT" and answers[0][1]["field"] == "token"
    # Nothing changed for the deactivated user, the expired link stays unused.
    assert (await User.get(id=deactivated.id)).password_changed_at is None
    assert (await AccountLink.get(user_id=expired.id)).used_at is None
    assert await AuditEvent.filter(action="PASSWORD_CHANGED").count() == 1


async def test_too_short_answers_password_and_leaves_the_link_usable(client: GraphQLClient) -> None:
    domain = await make_domain()
    await PasswordSecurityRules.filter(domain_id=domain.id).update(min_password_length=20)
    user = await make_user(domain)
    token = await new_link(user, RESET)
    short = await set_password(client, token, "nineteen-characters")
    assert short.code == "BAD_USER_INPUT"
    assert short.errors[0]["extensions"]["field"] == "password"
    assert "20" in short.errors[0]["message"]
    assert (await AccountLink.get(user_id=user.id)).used_at is None
    assert (await set_password(client, token, "twenty-characters-ok")).ok()["setPassword"] is True


async def test_every_session_of_the_user_is_revoked(client: GraphQLClient) -> None:
    user = await make_user(await make_domain())
    tokens = [(await client.login(user.email, PASSWORD))["token"] for _ in range(2)]
    link = await new_link(user, RESET)
    # The request's own token plays no part, not even a session of the same user.
    (await set_password(client, link, bearer=tokens[0])).ok()
    for token in tokens:
        assert (await client.execute(ME, token=token)).code == "UNAUTHENTICATED"


async def test_the_old_password_no_longer_works_and_other_links_die(client: GraphQLClient) -> None:
    user = await make_user(await make_domain())
    invitation = await new_link(user, INVITATION)
    reset = await new_link(user, RESET)
    (await set_password(client, reset)).ok()
    old = await client.execute(
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { status } }",
        {"e": user.email, "p": PASSWORD},
    )
    assert old.code == "INVALID_CREDENTIALS"
    assert (await set_password(client, invitation, "another-new-password")).code == "BAD_USER_INPUT"


async def test_a_password_lock_of_the_email_is_lifted(client: GraphQLClient) -> None:
    user = await make_user(await make_domain())
    wrong = 'mutation($e: String!) { login(email: $e, password: "wrong-password") { status } }'
    for _ in range(LOCK_AFTER_FAILURES):
        await client.execute(wrong, {"e": user.email})
    assert (await client.execute(wrong, {"e": user.email})).code == "TOO_MANY_ATTEMPTS"
    (await set_password(client, await new_link(user, RESET))).ok()
    assert (await client.login(user.email, NEW_PASSWORD))["status"] == "AUTHENTICATED"


async def test_concurrent_uses_of_one_link_one_wins(client: GraphQLClient) -> None:
    user = await make_user(await make_domain())
    token = await new_link(user, RESET)
    passwords = [f"concurrent-password-{n}" for n in range(4)]
    results = await asyncio.gather(*(set_password(client, token, p) for p in passwords))
    won = [p for p, result in zip(passwords, results, strict=True) if not result.errors]
    assert len(won) == 1, [result.body for result in results]
    assert all(r.code == "BAD_USER_INPUT" for r in results if r.errors)
    assert (await client.login(user.email, won[0]))["status"] == "AUTHENTICATED"
    assert await AuditEvent.filter(action="PASSWORD_CHANGED").count() == 1


async def test_bad_tokens_are_throttled_per_client_ip(
    app: Starlette, client: GraphQLClient
) -> None:
    user = await make_user(await make_domain())
    token = await new_link(user, RESET)
    limit = LIMITS[LinkScope.BAD_TOKEN_IP].limit
    for n in range(limit):
        assert (await set_password(client, f"guess-{n}")).code == "BAD_USER_INPUT"
    refused = await set_password(client, token)
    assert refused.code == "TOO_MANY_ATTEMPTS"
    assert 0 < refused.errors[0]["extensions"]["retryAfter"] <= 15 * 60
    assert (await AccountLink.get(user_id=user.id)).used_at is None
    # Another client IP is not limited by this one's failures.
    async with client_from(app, "198.51.100.20") as other:
        assert (await set_password(other, token)).ok()["setPassword"] is True


async def test_good_tokens_do_not_use_up_the_limit(client: GraphQLClient) -> None:
    domain = await make_domain()
    await PasswordSecurityRules.filter(domain_id=domain.id).update(min_password_length=20)
    user = await make_user(domain)
    token = await new_link(user, RESET)
    for _ in range(LIMITS[LinkScope.BAD_TOKEN_IP].limit + 2):
        assert (await set_password(client, token, "short")).errors[0]["extensions"]["field"] == (
            "password"
        )
    assert (await set_password(client, token, "long-enough-password-now")).ok()


async def test_a_pending_token_does_not_stop_set_password(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, two_factor_enabled=True)
    payload = await client.login(user.email, PASSWORD)
    assert payload["status"] == "ENROLLMENT_REQUIRED"
    pending = payload["token"]
    (await set_password(client, await new_link(user, RESET), bearer=pending)).ok()
    assert (await client.execute(ME, token=pending)).code == "UNAUTHENTICATED"


PASSWORD_LINK = (
    "query($t: String!) { passwordLink(token: $t) { purpose minPasswordLength expiresAt } }"
)


async def test_password_link_tells_the_page_the_purpose_and_minimum(client: GraphQLClient) -> None:
    domain = await make_domain()
    await PasswordSecurityRules.filter(domain_id=domain.id).update(min_password_length=16)
    user = await make_user(domain)
    token = await new_link(user, INVITATION)
    link = (await client.execute(PASSWORD_LINK, {"t": token})).ok()["passwordLink"]
    assert link["purpose"] == "INVITATION" and link["minPasswordLength"] == 16
    assert link["expiresAt"] == (await AccountLink.get(user_id=user.id)).expires_at.isoformat()
    # Reading it does not use it; a used link reads as null, and counts as a bad token.
    (await set_password(client, token)).ok()
    assert (await client.execute(PASSWORD_LINK, {"t": token})).ok() == {"passwordLink": None}
    for n in range(LIMITS[LinkScope.BAD_TOKEN_IP].limit - 1):
        assert (await client.execute(PASSWORD_LINK, {"t": f"x{n}"})).ok()["passwordLink"] is None
    assert (await client.execute(PASSWORD_LINK, {"t": token})).code == "TOO_MANY_ATTEMPTS"


async def test_a_revoked_or_garbage_bearer_token_does_not_stop_set_password(
    client: GraphQLClient,
) -> None:
    user = await make_user(await make_domain())
    revoked = (await client.login(user.email, PASSWORD))["token"]
    (await client.execute("mutation { logout }", token=revoked)).ok()
    for bearer in [revoked, "gqlp_garbage"]:
        link = await new_link(user, RESET)
        assert (await set_password(client, link, bearer=bearer)).ok()["setPassword"] is True
