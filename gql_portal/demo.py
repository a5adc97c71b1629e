"""The demo domain: admins, an auditor and users in every 2FA state. Safe to run twice."""

from collections.abc import Callable
from datetime import timedelta

from tortoise.transactions import in_transaction

from gql_portal.accounts.models import Domain, PasswordSecurityRules, Role, User, encode_roles
from gql_portal.accounts.passwords import hash_password
from gql_portal.accounts.services import create_domain, create_user, get_domain_by_name
from gql_portal.clock import utcnow
from gql_portal.crypto import encrypt_secret
from gql_portal.two_factor import recovery
from gql_portal.two_factor.models import TotpAuthenticator

DEMO_DOMAIN = "demo.example"
DEMO_PASSWORD = "correct-horse-battery"
# A fixed secret, printed so a person can add it to an authenticator app by hand.
DEMO_ENROLLED_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

ACCOUNTS: list[tuple[str, str, list[Role], str]] = [
    ("secadmin", "Sam Security", [Role.SECURITY_ADMIN, Role.USER], "security admin"),
    ("sysadmin", "Sys Admin", [Role.SYSTEM_ADMIN, Role.USER], "system admin"),
    ("auditor", "Ava Auditor", [Role.AUDITOR], "auditor"),
    ("alice", "Alice Disabled", [Role.USER], "2FA DISABLED"),
    ("bob", "Bob Pending", [Role.USER], "2FA PENDING_ENROLLMENT: scans a QR at next login"),
    ("carol", "Carol Enrolled", [Role.USER], "2FA ENROLLED: secret below"),
    ("dave", "Dave Grace", [Role.USER], "2FA PENDING_ENROLLMENT with a 72 h grace period"),
]


async def _ensure_domain() -> Domain:
    return await get_domain_by_name(DEMO_DOMAIN) or await create_domain(name=DEMO_DOMAIN)


async def _ensure_user(domain: Domain, name: str, display: str, roles: list[Role]) -> User:
    email = f"{name}@{DEMO_DOMAIN}"
    existing = await User.get_or_none(domain_id=domain.id, email_normalized=email)
    if existing is not None:
        return existing
    return await create_user(
        domain=domain, email=email, password=DEMO_PASSWORD, roles=roles, display_name=display
    )


async def _seed_states(users: dict[str, User]) -> None:
    now = utcnow()
    async with in_transaction() as connection:
        await (
            User.filter(id__in=[users["bob"].id, users["carol"].id])
            .using_db(connection)
            .update(two_factor_enabled=True, two_factor_enabled_at=now, enrollment_deadline=None)
        )
        await (
            User.filter(id=users["dave"].id, two_factor_enabled=False)
            .using_db(connection)
            .update(
                two_factor_enabled=True,
                two_factor_enabled_at=now,
                enrollment_deadline=now + timedelta(hours=72),
            )
        )
        if not await TotpAuthenticator.exists(user_id=users["carol"].id):
            await TotpAuthenticator.create(
                user_id=users["carol"].id,
                secret_encrypted=encrypt_secret(DEMO_ENROLLED_SECRET),
                confirmed_at=now,
                using_db=connection,
            )
            await recovery.replace_codes(users["carol"].id, now, connection)


async def _add_generated_users(domain: Domain, count: int) -> int:
    """Bulk insert with one shared hash: quick enough for 100,000 users."""
    existing = await User.filter(domain_id=domain.id, email_normalized__startswith="user-").count()
    missing = count - existing
    if missing <= 0:
        return 0
    password_hash = await hash_password(DEMO_PASSWORD)
    roles = encode_roles([Role.USER])
    batch: list[User] = []
    for number in range(existing + 1, count + 1):
        email = f"user-{number:06d}@{DEMO_DOMAIN}"
        batch.append(
            User(
                domain_id=domain.id,
                email=email,
                email_normalized=email,
                display_name=f"Generated User {number}",
                roles=roles,
                password_hash=password_hash,
            )
        )
        if len(batch) == 5000:
            await User.bulk_create(batch)
            batch = []
    if batch:
        await User.bulk_create(batch)
    return missing


async def seed_demo(*, extra_users: int = 0, out: Callable[[str], None] = print) -> Domain:
    domain = await _ensure_domain()
    await PasswordSecurityRules.filter(domain_id=domain.id).update(two_factor_enabled=True)
    users = {
        name: await _ensure_user(domain, name, display, roles)
        for name, display, roles, _ in ACCOUNTS
    }
    await _seed_states(users)
    added = await _add_generated_users(domain, extra_users)
    out(f"Demo domain {DEMO_DOMAIN}: 2FA switch ON. Every password: {DEMO_PASSWORD}")
    for name, _, _, role in ACCOUNTS:
        out(f"  {name + '@' + DEMO_DOMAIN:<24} {role}")
    out(f"  carol's TOTP secret (add it to an authenticator app): {DEMO_ENROLLED_SECRET}")
    if extra_users:
        out(f"  generated users: {extra_users} wanted, {added} added (user-NNNNNN@{DEMO_DOMAIN})")
    return domain
