"""Users as GraphQL objects, built a page at a time with the request's DataLoaders.

Only what the document asks for is loaded: a page of users costs one query per kind of
related data (domains, rules, authenticators, recovery-code counts), whatever its size.
"""

import asyncio
from collections.abc import Collection, Sequence

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)

from gql_portal.accounts.models import User
from gql_portal.accounts.types import DomainType, UserType
from gql_portal.api.context import Info
from gql_portal.api.loaders import (
    authenticators_by_user,
    domains_by_id,
    login_locks,
    recovery_codes_remaining,
    rules_by_domain,
)
from gql_portal.api.permissions import may_see_other_users
from gql_portal.clock import utcnow
from gql_portal.two_factor.types import UserTwoFactorType


def _names(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    into: set[str],
    seen: frozenset[str] = frozenset(),
) -> set[str]:
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            into.add(selection.name.value)
            _names(selection.selection_set, fragments, into, seen)
        elif isinstance(selection, InlineFragmentNode):
            _names(selection.selection_set, fragments, into, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                _names(fragment.selection_set, fragments, into, seen | {name})
    return into


def requested_fields(info: Info) -> set[str]:
    """Every field name below the field being resolved (fragments included), read off the
    document's syntax tree (strawberry's selected_fields builds objects for all of it)."""
    raw = info._raw_info
    found: set[str] = set()
    for node in raw.field_nodes:
        _names(node.selection_set, raw.fragments, found)
    return found


async def present_users(
    info: Info, users: Sequence[User], wanted: Collection[str] | None = None
) -> list[UserType]:
    """A page at a time: the batch reads are called directly (a DataLoader would add a
    future per row for keys that are all known here)."""
    if wanted is None:
        wanted = requested_fields(info)
    items = [UserType.from_model(user) for user in users]
    if not items:
        return items
    if ("externalId" in wanted or "loginLockedUntil" in wanted) and may_see_other_users(info):
        locks = (
            await login_locks(user.email_normalized for user in users)
            if "loginLockedUntil" in wanted
            else {}
        )
        for item, user in zip(items, users, strict=True):
            item.external_id = user.external_id
            item.login_locked_until = locks.get(user.email_normalized)
    if "domain" in wanted:
        domains = await domains_by_id(user.domain_id for user in users)
        for item, user in zip(items, users, strict=True):
            item.domain = DomainType.from_model(domains[user.domain_id])
    if "twoFactor" in wanted:
        ids = [user.id for user in users]
        # The viewer's own domain rules came with the viewer (this request's statement).
        viewer = info.context.viewer
        rules = {viewer.rules.domain_id: viewer.rules} if viewer is not None else {}
        missing = {user.domain_id for user in users} - rules.keys()
        no_counts: dict[int, int] = {}
        authenticators, more_rules, counts = await asyncio.gather(
            authenticators_by_user(ids),
            rules_by_domain(missing),
            recovery_codes_remaining(ids)
            if "recoveryCodesRemaining" in wanted
            else asyncio.sleep(0, no_counts),
        )
        rules |= more_rules
        now = utcnow()
        for item, user in zip(items, users, strict=True):
            item.two_factor = UserTwoFactorType.build(
                user=user,
                rules=rules[user.domain_id],
                authenticator=authenticators.get(user.id),
                recovery_codes_remaining=counts.get(user.id, 0),
                now=now,
            )
    return items


async def present_user_by_id(info: Info, user_id: int, *, domain_id: int) -> UserType | None:
    """A user reached from each item of a page (an audit event's actor, the rules'
    updatedBy): the ids of the whole page are read and presented in one batch. A user of
    another domain (moved since) is None: nothing crosses domains."""
    wanted = frozenset(requested_fields(info))

    async def present_batch(ids: list[int]) -> list[UserType | None]:
        found = await info.context.loaders.user.load_many(ids)
        users = [user for user in found if user is not None and user.domain_id == domain_id]
        presented = {item.model.id: item for item in await present_users(info, users, wanted)}
        return [presented.get(key) for key in ids]

    loader = info.context.loaders.for_selection(("user", domain_id, wanted), present_batch)
    presented: UserType | None = await loader.load(user_id)
    return presented


async def present_user(info: Info, user: User) -> UserType:
    return (await present_users(info, [user]))[0]


async def present_optional_user(info: Info, user: User | None) -> UserType | None:
    return None if user is None else await present_user(info, user)
