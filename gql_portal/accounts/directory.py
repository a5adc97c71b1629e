"""Reading users inside the viewer's domain: lists, lookups, filters."""

from dataclasses import dataclass, replace

from tortoise.expressions import Q, Subquery

from gql_portal.accounts.authorization import READERS, require_role
from gql_portal.accounts.models import PasswordSecurityRules, Role, User
from gql_portal.accounts.validation import MAX_EMAIL_LENGTH
from gql_portal.errors import BadUserInputError, NotFoundError
from gql_portal.inputs import distinct, int_id
from gql_portal.paging import Key, Keyset, Page, cursor_text
from gql_portal.request_meta import RequestMeta
from gql_portal.two_factor.gate import TwoFactorState
from gql_portal.two_factor.models import TotpAuthenticator


@dataclass(frozen=True, slots=True)
class UserQuery:
    search: str | None = None
    roles: list[Role] | None = None
    two_factor_state: TwoFactorState | None = None
    ids: list[int] | None = None
    active: bool | None = None


# Longer than any email or display name: such a search matches nothing, and SQLite
# refuses LIKE patterns past 50,000 bytes.
MAX_SEARCH_LENGTH = MAX_EMAIL_LENGTH
USERS = Keyset(User, "user", Key("email_normalized", cursor_text(MAX_EMAIL_LENGTH)))


def parse_id(raw: str) -> int:
    """Ids are positive integers the database can hold; anything else names nothing."""
    user_id = int_id(raw)
    if user_id is None:
        raise NotFoundError()
    return user_id


def checked_query(query: UserQuery) -> UserQuery:
    if query.search is not None and len(query.search) > MAX_SEARCH_LENGTH:
        raise BadUserInputError(
            f"search is longer than {MAX_SEARCH_LENGTH} characters", field="search"
        )
    roles = list(distinct(query.roles, "roles")) if query.roles else query.roles
    return replace(query, roles=roles)


def user_condition(domain_id: int, query: UserQuery, rules: PasswordSecurityRules) -> Q:
    condition = Q(domain_id=domain_id)
    if query.search:
        term = query.search.strip()
        condition &= Q(email_normalized__contains=term.lower()) | Q(display_name__icontains=term)
    if query.roles:
        any_role = Q()
        for role in query.roles:
            any_role |= Q(roles__contains=f",{role.value},")
        condition &= any_role
    if query.ids is not None:
        condition &= Q(id__in=query.ids)
    if query.active is not None:
        condition &= Q(active=query.active)
    state = query.two_factor_state
    if state is not None:
        enrolled_ids = Subquery(TotpAuthenticator.all().values("user_id"))
        if state is TwoFactorState.NOT_AVAILABLE:
            condition &= Q(id__in=[]) if rules.two_factor_enabled else Q()
        elif not rules.two_factor_enabled:
            condition &= Q(id__in=[])
        elif state is TwoFactorState.DISABLED:
            condition &= Q(two_factor_enabled=False)
        elif state is TwoFactorState.ENROLLED:
            condition &= Q(two_factor_enabled=True) & Q(id__in=enrolled_ids)
        else:
            condition &= Q(two_factor_enabled=True) & ~Q(id__in=enrolled_ids)
    return condition


async def list_users(
    *,
    actor: User,
    rules: PasswordSecurityRules,
    first: int | None,
    after: str | None,
    query: UserQuery,
    meta: RequestMeta,
) -> Page[User]:
    await require_role(actor, READERS, operation="users", meta=meta)
    condition = user_condition(actor.domain_id, checked_query(query), rules)
    return await USERS.page(condition, first=first, after=after)


async def count_users(*, actor: User, rules: PasswordSecurityRules, query: UserQuery) -> int:
    """All pages of list_users (which checked the role) with the same filter: one COUNT."""
    return await User.filter(user_condition(actor.domain_id, checked_query(query), rules)).count()


async def get_user(*, actor: User, user_id: str, meta: RequestMeta) -> User:
    if user_id == str(actor.id):
        return actor
    # The role is checked before the id is even parsed: a malformed id must not answer
    # NOT_FOUND to a viewer who may not look anyone up.
    await require_role(actor, READERS, operation="user", meta=meta)
    return await find_user_in_domain(actor=actor, user_id=parse_id(user_id))


async def find_user_in_domain(*, actor: User, user_id: int) -> User:
    """Another domain's user answers exactly like one that does not exist."""
    user = await User.get_or_none(id=user_id, domain_id=actor.domain_id)
    if user is None:
        raise NotFoundError()
    return user
