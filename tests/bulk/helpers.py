"""Many users at once for bulk tests, and small readers of what a job left behind."""

from uuid import UUID

from gql_portal.accounts.models import Domain, Role, User, encode_roles
from gql_portal.audit.models import AuditEvent
from tests.factories import password_hash


async def make_many_users(
    domain: Domain, count: int, *, roles: list[Role] | None = None, prefix: str = "bulk"
) -> list[int]:
    hashed = await password_hash()
    encoded = encode_roles(roles or [Role.USER])
    users = [
        User(
            domain_id=domain.id,
            email=f"{prefix}-{number:06d}@{domain.name}",
            email_normalized=f"{prefix}-{number:06d}@{domain.name}",
            roles=encoded,
            password_hash=hashed,
        )
        for number in range(count)
    ]
    for start in range(0, count, 5000):
        await User.bulk_create(users[start : start + 5000])
    ids: list[int] = await User.filter(
        domain_id=domain.id, email_normalized__startswith=f"{prefix}-"
    ).values_list("id", flat=True)
    return sorted(ids)


async def enabled_event_counts(job_id: UUID | str) -> dict[int, int]:
    rows = await AuditEvent.filter(job_id=job_id, action="USER_TWO_FACTOR_ENABLED").values_list(
        "target_id", flat=True
    )
    counts: dict[int, int] = {}
    for target in rows:
        counts[int(target)] = counts.get(int(target), 0) + 1
    return counts
