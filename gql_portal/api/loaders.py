"""Batch reads (one query per kind, whatever the count) and the DataLoaders built on
them, created per request so nothing is shared between viewers: a DataLoader also caches,
so a per-domain value asked for by every node of a page is computed once per request."""

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from datetime import datetime
from typing import Any

from strawberry.dataloader import DataLoader

from gql_portal.accounts.models import Domain, LoginThrottle, PasswordSecurityRules, User
from gql_portal.accounts.throttle import throttle_key
from gql_portal.clock import utcnow
from gql_portal.sql import M, fetch, in_ids
from gql_portal.two_factor.models import RecoveryCode, TotpAuthenticator
from gql_portal.two_factor.stats import TwoFactorCounts, count_two_factor


async def _select(model: type[M], column: str, keys: Iterable[int]) -> list[M]:
    """``SELECT * FROM <model> WHERE column IN keys`` as model objects, hand-written: for a
    page the ORM's query building cost more than the query (bench/README.md, 7.2)."""
    wanted = sorted(set(keys))
    if not wanted:
        return []
    connection = model._meta.db
    clause, values = in_ids(connection, f'"{column}"', wanted)
    columns = ",".join(f'"{name}"' for name in model._meta.db_fields)
    rows = await fetch(
        connection, f'SELECT {columns} FROM "{model._meta.db_table}" WHERE {clause}', values
    )
    return [model._init_from_db(**row) for row in rows]


async def domains_by_id(ids: Iterable[int]) -> dict[int, Domain]:
    return {domain.id: domain for domain in await _select(Domain, "id", ids)}


async def rules_by_domain(domain_ids: Iterable[int]) -> dict[int, PasswordSecurityRules]:
    wanted = set(domain_ids)
    if not wanted:
        return {}
    found = await PasswordSecurityRules.filter(domain_id__in=wanted)
    return {rules.domain_id: rules for rules in found}


async def login_locks(emails_normalized: Iterable[str]) -> dict[str, datetime]:
    """The password throttle's running locks, by normalised email (rows are keyed by
    their keyed hash: throttle_key)."""
    keys = {throttle_key(email): email for email in emails_normalized}
    if not keys:
        return {}
    found = await LoginThrottle.filter(key__in=list(keys), locked_until__gt=utcnow()).values_list(
        "key", "locked_until"
    )
    return {keys[key]: locked_until for key, locked_until in found}


async def authenticators_by_user(user_ids: Iterable[int]) -> dict[int, TotpAuthenticator]:
    found = await _select(TotpAuthenticator, "user_id", user_ids)
    return {authenticator.user_id: authenticator for authenticator in found}


async def recovery_codes_remaining(user_ids: Sequence[int]) -> dict[int, int]:
    """Unused recovery codes per user (users without any are absent)."""
    if not user_ids:
        return {}
    connection = RecoveryCode._meta.db
    clause, values = in_ids(connection, '"user_id"', list(user_ids))
    rows = await fetch(
        connection,
        f'SELECT "user_id", COUNT(*) AS "remaining" FROM "{RecoveryCode._meta.db_table}"'
        f' WHERE {clause} AND "used_at" IS NULL GROUP BY "user_id"',
        values,
    )
    return {row["user_id"]: int(row["remaining"]) for row in rows}


async def _load_domains(ids: Sequence[int]) -> list[Domain | None]:
    found = await domains_by_id(ids)
    return [found.get(key) for key in ids]


async def _load_rules(domain_ids: Sequence[int]) -> list[PasswordSecurityRules | None]:
    found = await rules_by_domain(domain_ids)
    return [found.get(key) for key in domain_ids]


async def _load_users(ids: Sequence[int]) -> list[User | None]:
    found = {user.id: user for user in await User.filter(id__in=ids)}
    return [found.get(key) for key in ids]


async def _load_two_factor_counts(domain_ids: Sequence[int]) -> list[TwoFactorCounts]:
    now = utcnow()
    return list(await asyncio.gather(*(count_two_factor(key, now) for key in domain_ids)))


class Loaders:
    def __init__(self) -> None:
        self.domain = DataLoader(load_fn=_load_domains)
        self.rules = DataLoader(load_fn=_load_rules)
        self.user = DataLoader(load_fn=_load_users)
        self.two_factor_counts = DataLoader(load_fn=_load_two_factor_counts)
        self._by_selection: dict[Hashable, DataLoader[Any, Any]] = {}

    def for_selection(
        self, key: Hashable, load_fn: Callable[[list[Any]], Awaitable[Sequence[Any]]]
    ) -> DataLoader[Any, Any]:
        """One loader per distinct selection: what a batch builds depends on what the
        document asks of it (a user's twoFactor, its domain), and equal selections share."""
        loader = self._by_selection.get(key)
        if loader is None:
            loader = self._by_selection[key] = DataLoader(load_fn=load_fn)
        return loader
