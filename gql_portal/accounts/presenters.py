"""Users as GraphQL objects, built a page at a time with the request's DataLoaders.

Only what the document asks for is loaded: a page of users costs one query per kind of
related data (domains, rules, authenticators, recovery-code counts), whatever its size.
"""

import asyncio
from collections.abc import Iterable, Sequence

from strawberry.types.nodes import Selection

from gql_portal.accounts.models import User
from gql_portal.accounts.types import DomainType, UserType
from gql_portal.api.context import Info
from gql_portal.clock import utcnow
from gql_portal.two_factor.types import UserTwoFactorType


def _names(selections: Iterable[Selection], into: set[str]) -> set[str]:
    for selection in selections:
        name = getattr(selection, "name", None)
        if name is not None:
            into.add(name)
        _names(selection.selections, into)
    return into


def requested_fields(info: Info) -> set[str]:
    """Every field name below the field being resolved (fragments included)."""
    return _names(info.selected_fields, set())


async def present_users(info: Info, users: Sequence[User]) -> list[UserType]:
    wanted = requested_fields(info)
    loaders = info.context.loaders
    items = [UserType.from_model(user) for user in users]
    if not items:
        return items
    for user in users:
        loaders.prime_user(user)
    if "domain" in wanted:
        domains = await loaders.domain.load_many([user.domain_id for user in users])
        for item, domain in zip(items, domains, strict=True):
            assert domain is not None
            item.loaded_domain = DomainType.from_model(domain)
    if "twoFactor" in wanted:
        ids = [user.id for user in users]
        counts: Sequence[int] = [0] * len(ids)
        if "recoveryCodesRemaining" in wanted:
            rules, authenticators, counts = await asyncio.gather(
                loaders.rules.load_many([user.domain_id for user in users]),
                loaders.authenticator.load_many(ids),
                loaders.recovery_codes_remaining.load_many(ids),
            )
        else:
            rules, authenticators = await asyncio.gather(
                loaders.rules.load_many([user.domain_id for user in users]),
                loaders.authenticator.load_many(ids),
            )
        now = utcnow()
        for item, user, rule, authenticator, remaining in zip(
            items, users, rules, authenticators, counts, strict=True
        ):
            assert rule is not None
            item.loaded_two_factor = UserTwoFactorType.build(
                user=user,
                rules=rule,
                authenticator=authenticator,
                recovery_codes_remaining=remaining,
                now=now,
            )
    return items


async def present_user(info: Info, user: User) -> UserType:
    return (await present_users(info, [user]))[0]


async def present_optional_user(info: Info, user: User | None) -> UserType | None:
    return None if user is None else await present_user(info, user)
