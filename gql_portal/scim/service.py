"""SCIM's reads of a token's domain: one user by id, and filtered pages of users.

A page costs at most two statements whatever its size: one COUNT for totalResults (not
needed when the page is the last one), and one SELECT whose ids come from an inner
``ORDER BY id LIMIT ... OFFSET ...`` over the index the filter uses ((domain_id, id),
(domain_id, active, id), (domain_id, email_normalized) or (domain_id, external_id)): the
skipped rows are index entries, never table rows. Both are written here (the filter is SQL,
scim/filters.py), so a lookup spends its time in the database, not building a statement.
"""

from dataclasses import dataclass

from gql_portal.accounts.models import User
from gql_portal.errors import NotFoundError
from gql_portal.inputs import int_id
from gql_portal.scim.filters import Condition, user_condition
from gql_portal.sql import aliased_columns, fetch, from_row


@dataclass(frozen=True, slots=True)
class UserPage:
    total: int
    start_index: int
    users: list[User]


async def get_user(*, domain_id: int, user_id: str) -> User:
    """Another domain's user answers exactly like one that does not exist (404)."""
    key = int_id(user_id)
    user = await User.get_or_none(id=key, domain_id=domain_id) if key is not None else None
    if user is None:
        raise NotFoundError(f"User {user_id} not found")
    return user


def _domain_condition(domain_id: int, filter: str | None) -> Condition:
    if filter is None or not filter.strip():
        return Condition("u.domain_id = ?", (domain_id,))
    # The domain is ANDed outside: no `or` in the filter reaches another domain.
    condition = user_condition(filter)
    return Condition(f"u.domain_id = ? AND ({condition.sql})", (domain_id, *condition.values))


async def _count(condition: Condition) -> int:
    rows = await fetch(
        User._meta.db,
        f"SELECT COUNT(*) AS total FROM users u WHERE {condition.sql}",
        list(condition.values),
    )
    return int(rows[0]["total"])


async def list_users(
    *, domain_id: int, filter: str | None, start_index: int, count: int
) -> UserPage:
    """``start_index`` is 1-based and at least 1, ``count`` already capped (RFC 7644
    3.4.2.4: a count of 0 asks for totalResults only)."""
    condition = _domain_condition(domain_id, filter)
    if count == 0:
        return UserPage(total=await _count(condition), start_index=start_index, users=[])
    rows = await fetch(
        User._meta.db,
        f"SELECT {aliased_columns(User, 'p')} FROM users p WHERE p.id IN "
        f"(SELECT u.id FROM users u WHERE {condition.sql} ORDER BY u.id LIMIT ? OFFSET ?) "
        "ORDER BY p.id",
        [*condition.values, count, start_index - 1],
    )
    users = [from_row(User, row, "p") for row in rows]
    if len(users) < count and (users or start_index == 1):
        # The page is the last one: the total is known without a COUNT (a userName
        # lookup, the identity providers' most frequent request, costs one statement).
        total = start_index - 1 + len(users)
    else:
        total = await _count(condition)
    return UserPage(total=total, start_index=start_index, users=users)
