"""Bench data, written through the project's own models and services (set-based inserts)."""

import hashlib
import secrets
from datetime import timedelta

from gql_portal.accounts.models import Domain, PasswordSecurityRules, Role, Session, User
from gql_portal.accounts.models import encode_roles as _encode_roles
from gql_portal.accounts.passwords import hash_password
from gql_portal.accounts.services import create_domain
from gql_portal.accounts.sessions import TOKEN_PREFIX, hash_token
from gql_portal.clock import utcnow
from gql_portal.crypto import encrypt_secret
from gql_portal.two_factor.models import RecoveryCode, TotpAuthenticator

PASSWORD = "correct-horse-battery"
# One known secret for every bench authenticator: each user still has its own replay guard.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
BATCH = 2000


async def make_domain(name: str, *, two_factor: bool = True) -> Domain:
    domain = await create_domain(name=name)
    await PasswordSecurityRules.filter(domain_id=domain.id).update(two_factor_enabled=two_factor)
    return domain


async def default_cost_hash() -> str:
    """One argon2id hash at the configured (default) cost, shared by the seeded users."""
    return await hash_password(PASSWORD)


async def add_users(
    domain: Domain,
    prefix: str,
    count: int,
    *,
    password_hash: str,
    roles: list[Role] | None = None,
    two_factor_enabled: bool | None = False,
) -> list[User]:
    """``two_factor_enabled=None`` enables every other user."""
    encoded = _encode_roles(roles or [Role.USER])
    now = utcnow()
    rows = []
    for number in range(count):
        email = f"{prefix}-{number:06d}@{domain.name}"
        enabled = number % 2 == 0 if two_factor_enabled is None else two_factor_enabled
        rows.append(
            User(
                domain_id=domain.id,
                email=email,
                email_normalized=email,
                display_name=f"{prefix.title()} {number}",
                roles=encoded,
                password_hash=password_hash,
                two_factor_enabled=enabled,
                two_factor_enabled_at=now if enabled else None,
            )
        )
    for start in range(0, len(rows), BATCH):
        await User.bulk_create(rows[start : start + BATCH])
    return await User.filter(
        domain_id=domain.id, email_normalized__startswith=f"{prefix}-"
    ).order_by("email_normalized")


async def add_sessions(users: list[User], *, pending: bool = False) -> list[str]:
    """One live session per user; returns the bearer tokens in the same order."""
    now = utcnow()
    tokens = [TOKEN_PREFIX + secrets.token_urlsafe(32) for _ in users]
    rows = [
        Session(
            token_hash=hash_token(token),
            user_id=user.id,
            issued_pending=pending,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(minutes=10 if pending else 12 * 60),
            ip="127.0.0.1",
        )
        for user, token in zip(users, tokens, strict=True)
    ]
    for start in range(0, len(rows), BATCH):
        await Session.bulk_create(rows[start : start + BATCH])
    return tokens


async def add_authenticators(users: list[User], *, with_recovery_codes: bool = False) -> None:
    now = utcnow()
    secret = encrypt_secret(TOTP_SECRET)
    rows = [
        TotpAuthenticator(user_id=u.id, secret_encrypted=secret, confirmed_at=now) for u in users
    ]
    for start in range(0, len(rows), BATCH):
        await TotpAuthenticator.bulk_create(rows[start : start + BATCH])
    if with_recovery_codes:
        codes = [
            RecoveryCode(
                user_id=u.id,
                code_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
                created_at=now,
                used_at=now if n < 3 else None,
            )
            for u in users
            for n in range(10)
        ]
        for start in range(0, len(codes), BATCH):
            await RecoveryCode.bulk_create(codes[start : start + BATCH])
