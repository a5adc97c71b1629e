"""Small async factories that go through the project's own services."""

import functools
import itertools
from urllib.parse import parse_qs, urlparse

from gql_portal.accounts.models import Domain, PasswordSecurityRules, Role, User, encode_roles
from gql_portal.accounts.passwords import hash_password
from gql_portal.accounts.services import create_domain
from gql_portal.clock import utcnow
from gql_portal.two_factor import totp

PASSWORD = "a-long-test-password"
_sequence = itertools.count(1)


@functools.cache
def _hash_cache() -> dict[str, str]:
    return {}


async def password_hash(password: str = PASSWORD) -> str:
    cache = _hash_cache()
    if password not in cache:
        cache[password] = await hash_password(password)
    return cache[password]


async def make_domain(name: str | None = None, *, two_factor: bool = False) -> Domain:
    domain = await create_domain(name=name or f"d{next(_sequence)}.example")
    if two_factor:
        await PasswordSecurityRules.filter(domain_id=domain.id).update(two_factor_enabled=True)
    return domain


async def make_user(
    domain: Domain,
    email: str | None = None,
    *,
    roles: list[Role] | None = None,
    password: str = PASSWORD,
    two_factor_enabled: bool = False,
    display_name: str = "",
) -> User:
    email = email or f"user{next(_sequence)}@{domain.name}"
    return await User.create(
        domain=domain,
        email=email,
        email_normalized=email.lower(),
        display_name=display_name,
        roles=encode_roles(roles or [Role.USER]),
        password_hash=await password_hash(password),
        two_factor_enabled=two_factor_enabled,
        two_factor_enabled_at=utcnow() if two_factor_enabled else None,
    )


def secret_from_uri(otpauth_uri: str) -> str:
    return parse_qs(urlparse(otpauth_uri).query)["secret"][0]


def code_for(secret: str, *, steps_ahead: int = 0) -> str:
    return totp.code_at_step(secret, totp.time_step(utcnow()) + steps_ahead)
