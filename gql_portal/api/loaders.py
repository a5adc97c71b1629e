"""DataLoaders, created per request so nothing is shared between viewers."""

from collections.abc import Sequence

from strawberry.dataloader import DataLoader
from tortoise.functions import Count

from gql_portal.accounts.models import Domain, PasswordSecurityRules, User
from gql_portal.two_factor.models import RecoveryCode, TotpAuthenticator


async def _load_domains(ids: Sequence[int]) -> list[Domain | None]:
    found = {domain.id: domain for domain in await Domain.filter(id__in=ids)}
    return [found.get(key) for key in ids]


async def _load_rules(domain_ids: Sequence[int]) -> list[PasswordSecurityRules | None]:
    found = {r.domain_id: r for r in await PasswordSecurityRules.filter(domain_id__in=domain_ids)}
    return [found.get(key) for key in domain_ids]


async def _load_users(ids: Sequence[int]) -> list[User | None]:
    found = {user.id: user for user in await User.filter(id__in=ids)}
    return [found.get(key) for key in ids]


async def _load_authenticators(user_ids: Sequence[int]) -> list[TotpAuthenticator | None]:
    found = {a.user_id: a for a in await TotpAuthenticator.filter(user_id__in=user_ids)}
    return [found.get(key) for key in user_ids]


async def _load_recovery_counts(user_ids: Sequence[int]) -> list[int]:
    rows = (
        await RecoveryCode.filter(user_id__in=user_ids, used_at=None)
        .annotate(remaining=Count("id"))
        .group_by("user_id")
        .values("user_id", "remaining")
    )
    counts = {row["user_id"]: row["remaining"] for row in rows}
    return [counts.get(key, 0) for key in user_ids]


class Loaders:
    def __init__(self) -> None:
        self.domain = DataLoader(load_fn=_load_domains)
        self.rules = DataLoader(load_fn=_load_rules)
        self.user = DataLoader(load_fn=_load_users)
        self.authenticator = DataLoader(load_fn=_load_authenticators)
        self.recovery_codes_remaining = DataLoader(load_fn=_load_recovery_counts)

    def prime_user(self, user: User) -> None:
        self.user.prime(user.id, user)
