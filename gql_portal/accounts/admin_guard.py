"""Section 10's two role rules for many changes at once (an import chunk): the domain keeps
an active SYSTEM_ADMIN and an active SECURITY_ADMIN, and nobody changes their own roles.

Race-safe inside the caller's transaction: ``lock_admin_counts`` locks the domain's rules
row first (SELECT ... FOR UPDATE on PostgreSQL; SQLite transactions hold the write lock
from BEGIN IMMEDIATE), so two writers that would each remove one of the last two admins
are serialised and the second sees the first's change.
"""

from dataclasses import dataclass, field

from tortoise.backends.base.client import BaseDBAsyncClient

from gql_portal.accounts.models import Role, decode_roles
from gql_portal.sql import fetch, is_postgres

# The roles the domain must keep one active holder of.
KEPT_ROLES = (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN)
OWN_ROLES = "Nobody changes their own roles"


def _count_sql(postgres: bool) -> str:
    counts = ", ".join(
        f"SUM(CASE WHEN roles LIKE '%,{role.value},%' THEN 1 ELSE 0 END) AS {role.value.lower()}"
        for role in KEPT_ROLES
    )
    return f"SELECT {counts} FROM users WHERE domain_id = ? AND active = ?"


def removes_kept_role(before: str, after: str) -> bool:
    """Whether a change of roles (encoded) takes away a role the domain must keep."""
    old, new = set(decode_roles(before)), set(decode_roles(after))
    return any(role in old and role not in new for role in KEPT_ROLES)


async def lock_admin_counts(
    connection: BaseDBAsyncClient, domain_id: int, *, count: bool = True
) -> "AdminGuard":
    """Lock the domain against other role changes, then count its active admins.

    ``count=False`` for a batch that removes no kept role (``removes_kept_role``): the
    count reads every active user of the domain, too much for each chunk of an import
    into a big domain, and only a removal needs it."""
    postgres = is_postgres(connection)
    lock = "SELECT id FROM password_security_rules WHERE domain_id = ?"
    await fetch(connection, lock + (" FOR UPDATE" if postgres else ""), [domain_id])
    if not count:
        return AdminGuard({role: 0 for role in KEPT_ROLES}, counted=False)
    rows = await fetch(connection, _count_sql(postgres), [domain_id, True])
    row = rows[0] if rows else {}
    return AdminGuard({role: int(row.get(role.value.lower()) or 0) for role in KEPT_ROLES})


@dataclass
class AdminGuard:
    """The active holders of each kept role, moved along as changes are accepted in order."""

    active: dict[Role, int] = field(default_factory=dict)
    # False: not counted, for changes that remove no kept role (``lock_admin_counts``).
    counted: bool = True
    # The counts as the guard started, for ``moved``.
    start: dict[Role, int] = field(init=False)

    def __post_init__(self) -> None:
        self.start = dict(self.active)

    def carry(self, moved: dict[Role, int]) -> None:
        """Count changes that were accepted and not written (an earlier chunk of a dry
        run): the holders they added or took away."""
        for role, count in moved.items():
            self.active[role] += count

    def moved(self) -> dict[Role, int]:
        """What the accepted changes (and ``carry``) moved each count by."""
        return {role: self.active[role] - self.start[role] for role in KEPT_ROLES}

    def refusal(
        self,
        *,
        user_id: int | None,
        actor_id: int | None,
        active: bool,
        before: str,
        after: str,
    ) -> str | None:
        """Why the change of one user's roles from ``before`` to ``after`` (encoded) is
        refused, or None; an accepted change is counted. A new user: ``user_id`` None and
        ``before`` ""."""
        if before == after:
            return None
        if user_id is not None and user_id == actor_id:
            return OWN_ROLES
        old, new = set(decode_roles(before)), set(decode_roles(after))
        if active:
            if not self.counted and removes_kept_role(before, after):
                raise RuntimeError("a removal of a kept role needs the counted guard")
            for role in KEPT_ROLES:
                if role in old and role not in new and self.active[role] <= 1:
                    return f"The domain must keep at least one active {role.value}"
            for role in KEPT_ROLES:
                self.active[role] += (role in new) - (role in old)
        return None
