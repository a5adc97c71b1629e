"""Account links as a service: 256-bit tokens stored as hashes, lifetimes, supersede,
single use under concurrency, and the set-based invitation of many users."""

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from tortoise.transactions import in_transaction

from gql_portal.accounts.link_throttle import LinkScope, count_in_window
from gql_portal.accounts.links import (
    LIFETIMES,
    consume_link,
    find_usable_link,
    hash_link_token,
    invite_users,
)
from gql_portal.accounts.models import AccountLink, AccountLinkPurpose, LinkThrottle, User
from gql_portal.accounts.throttle import PurgedThrottles, purge_login_throttles
from gql_portal.clock import utcnow
from gql_portal.notifications.messages import render
from gql_portal.notifications.models import Notification
from gql_portal.settings import get_settings
from tests.accounts.links_helpers import mailed_token, new_link
from tests.factories import make_domain, make_user
from tests.querycount import count_queries

pytestmark = pytest.mark.usefixtures("database")

INVITATION = AccountLinkPurpose.INVITATION
RESET = AccountLinkPurpose.PASSWORD_RESET


async def test_a_link_stores_only_the_hash_of_a_256_bit_token() -> None:
    user = await make_user(await make_domain())
    token = await new_link(user, RESET)
    assert len(token) == 43  # 32 random bytes, URL-safe base64
    link = await AccountLink.get(user_id=user.id)
    assert link.token_hash == hash_link_token(token)
    assert link.purpose == "PASSWORD_RESET" and link.used_at is None
    notification = await Notification.get(user_id=user.id)
    assert notification.kind == "PASSWORD_RESET" and notification.recipient == user.email
    assert token not in str(notification.params)


async def test_lifetimes_are_72_hours_and_30_minutes() -> None:
    user = await make_user(await make_domain())
    before = utcnow()
    await new_link(user, INVITATION)
    await new_link(user, RESET)
    for purpose, lifetime in ((INVITATION, timedelta(hours=72)), (RESET, timedelta(minutes=30))):
        link = await AccountLink.get(user_id=user.id, purpose=purpose.value)
        assert LIFETIMES[purpose] == lifetime
        assert before + lifetime <= link.expires_at <= utcnow() + lifetime


async def test_an_expired_link_is_not_usable() -> None:
    user = await make_user(await make_domain())
    token = await new_link(user, RESET)
    assert await find_usable_link(token) is not None
    await AccountLink.filter(user_id=user.id).update(expires_at=utcnow() - timedelta(seconds=1))
    assert await find_usable_link(token) is None
    link = await AccountLink.get(user_id=user.id)
    async with in_transaction() as connection:
        assert not await consume_link(link.id, using_db=connection)


async def test_a_new_link_supersedes_the_older_unused_ones_of_its_purpose() -> None:
    user = await make_user(await make_domain())
    invitation = await new_link(user, INVITATION)
    first = await new_link(user, RESET)
    second = await new_link(user, RESET)
    assert await find_usable_link(first) is None
    assert await find_usable_link(second) is not None
    # Another purpose's link is not touched.
    assert await find_usable_link(invitation) is not None


async def test_a_deactivated_users_link_is_not_usable() -> None:
    user = await make_user(await make_domain())
    token = await new_link(user, INVITATION)
    await User.filter(id=user.id).update(active=False)
    assert await find_usable_link(token) is None


async def test_garbage_tokens_find_nothing() -> None:
    user = await make_user(await make_domain())
    token = await new_link(user, INVITATION)
    link = await AccountLink.get(user_id=user.id)
    for garbage in ["", "x", token[:-1], token + "A", link.token_hash, "\x00" * 5, "A" * 10_000]:
        assert await find_usable_link(garbage) is None, garbage


async def test_of_concurrent_uses_exactly_one_wins() -> None:
    user = await make_user(await make_domain())
    await new_link(user, RESET)
    link = await AccountLink.get(user_id=user.id)

    async def use() -> bool:
        async with in_transaction() as connection:
            return await consume_link(link.id, using_db=connection)

    results = await asyncio.gather(*(use() for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]
    assert (await AccountLink.get(id=link.id)).used_at is not None


async def test_invite_users_is_set_based_and_skips_who_has_a_password_or_is_inactive() -> None:
    domain = await make_domain()
    invited = []
    for n in range(2000):
        invited.append(
            User(
                domain_id=domain.id,
                email=f"Invited{n}@{domain.name}",
                email_normalized=f"invited{n}@{domain.name}",
                password_hash="",
            )
        )
    await User.bulk_create(invited)
    has_password = await make_user(domain)
    inactive = await make_user(domain)
    await User.filter(id=inactive.id).update(active=False, password_hash="")
    ids = [user.id for user in await User.filter(domain_id=domain.id).order_by("id")]
    async with in_transaction() as connection:
        with count_queries() as statements:
            assert await invite_users(ids, using_db=connection) == 2000
    # Per 1,000 ids one SELECT (2,002 ids: 3); per 1,000 invited one supersede UPDATE, one
    # INSERT of links and one of notifications (2,000 invited: 2 each). Nothing per user.
    kinds = Counter(" ".join(s.replace('"', "").split()[:3]) for s in statements)
    assert kinds == {
        "SELECT id, domain_id,": 3,
        "UPDATE account_links SET": 2,
        "INSERT INTO account_links": 2,
        "INSERT INTO notifications": 2,
    }, kinds
    assert await AccountLink.filter(purpose="INVITATION").count() == 2000
    assert await Notification.filter(kind="INVITATION").count() == 2000
    assert not await AccountLink.filter(user_id__in=[has_password.id, inactive.id]).exists()
    first = await User.get(email_normalized=f"invited0@{domain.name}")
    link = await find_usable_link(await mailed_token(first, "INVITATION"))
    assert link is not None and link.user.id == first.id and link.purpose is INVITATION
    hashes = await AccountLink.all().values_list("token_hash", flat=True)
    assert len(set(hashes)) == 2000


async def test_the_message_carries_the_link_to_the_set_password_page() -> None:
    user = await make_user(await make_domain(), display_name="Ada <Lovelace>")
    token = await new_link(user, INVITATION)
    rendered = render(await Notification.get(user_id=user.id))
    link = get_settings().public_url.rstrip("/") + f"/#/set-password?token={token}"
    assert link in rendered.text
    assert f"/#/set-password?token={token}" in rendered.html
    assert "Ada &lt;Lovelace&gt;" in rendered.html and "<Lovelace>" not in rendered.html


async def test_ended_throttle_windows_are_purged_with_the_login_throttles() -> None:
    await count_in_window(LinkScope.RESET_IP, "198.51.100.1")
    await count_in_window(LinkScope.BAD_TOKEN_IP, "198.51.100.1")
    assert await purge_login_throttles() == PurgedThrottles(0, 0, 0)
    await LinkThrottle.filter(key__not="").update(expires_at=utcnow() - timedelta(seconds=1))
    assert await purge_login_throttles(batch_size=1) == PurgedThrottles(0, 0, 2)
    assert not await LinkThrottle.exists()
