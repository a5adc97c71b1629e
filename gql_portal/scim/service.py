"""SCIM's reads of a token's domain: one user by id, and filtered pages of users.

A page costs two statements whatever its size: one COUNT for totalResults, and one SELECT
whose ids come from an inner ``ORDER BY id LIMIT ... OFFSET ...`` over the index the filter
uses ((domain_id, id), (domain_id, active, id), (domain_id, email_normalized) or
(domain_id, external_id)): the skipped rows are index entries, never table rows.
"""

from dataclasses import dataclass

from tortoise.expressions import Q, Subquery

from gql_portal.accounts.models import User
from gql_portal.errors import NotFoundError
from gql_portal.inputs import int_id
from gql_portal.scim.filters import user_condition


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


async def list_users(
    *, domain_id: int, filter: str | None, start_index: int, count: int
) -> UserPage:
    """``start_index`` is 1-based and at least 1, ``count`` already capped (RFC 7644
    3.4.2.4: a count of 0 asks for totalResults only)."""
    condition = Q(domain_id=domain_id)
    if filter is not None and filter.strip():
        # The domain is ANDed outside: no `or` in the filter reaches another domain.
        condition = Q(condition, user_condition(filter))
    total = await User.filter(condition).count()
    if count == 0 or start_index > total:
        return UserPage(total=total, start_index=start_index, users=[])
    page_ids = (
        User.filter(condition).order_by("id").offset(start_index - 1).limit(count).values("id")
    )
    users = await User.filter(id__in=Subquery(page_ids)).order_by("id")
    return UserPage(total=total, start_index=start_index, users=users)
