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


async def lock_admin_counts(connection: BaseDBAsyncClient, domain_id: int) -> "AdminGuard":
    """Lock the domain against other role changes, then count its active admins."""
    postgres = is_postgres(connection)
    lock = "SELECT id FROM password_security_rules WHERE domain_id = ?"
    await fetch(connection, lock + (" FOR UPDATE" if postgres else ""), [domain_id])
    rows = await fetch(connection, _count_sql(postgres), [domain_id, True])
    row = rows[0] if rows else {}
    return AdminGuard({role: int(row.get(role.value.lower()) or 0) for role in KEPT_ROLES})


@dataclass
class AdminGuard:
    """The active holders of each kept role, moved along as changes are accepted in order."""

    active: dict[Role, int] = field(default_factory=dict)

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
            for role in KEPT_ROLES:
                if role in old and role not in new and self.active[role] <= 1:
                    return f"The domain must keep at least one active {role.value}"
            for role in KEPT_ROLES:
                self.active[role] += (role in new) - (role in old)
        return None
