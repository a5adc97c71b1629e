"""Which users a bulk job touches: stored as JSON on the job, turned into one filter."""

from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q

from gql_portal.accounts.directory import UserQuery, user_condition
from gql_portal.accounts.models import PasswordSecurityRules, Role
from gql_portal.errors import BadUserInputError
from gql_portal.inputs import distinct, int_id
from gql_portal.two_factor.gate import TwoFactorState

MAX_USER_IDS = 10_000


@dataclass(frozen=True, slots=True)
class UserSelection:
    """``None`` selects without restriction; every given list must name something."""

    roles: tuple[Role, ...] | None = None
    user_ids: tuple[int, ...] | None = None
    two_factor_states: tuple[TwoFactorState, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        stored: dict[str, Any] = {}
        if self.roles is not None:
            stored["roles"] = [role.value for role in self.roles]
        if self.user_ids is not None:
            stored["userIds"] = list(self.user_ids)
        if self.two_factor_states is not None:
            stored["twoFactorStates"] = [state.value for state in self.two_factor_states]
        return stored

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> "UserSelection":
        roles = stored.get("roles")
        ids = stored.get("userIds")
        states = stored.get("twoFactorStates")
        return cls(
            roles=tuple(Role(role) for role in roles) if roles is not None else None,
            user_ids=tuple(int(user_id) for user_id in ids) if ids is not None else None,
            two_factor_states=(
                tuple(TwoFactorState(state) for state in states) if states is not None else None
            ),
        )


def parse_user_ids(raw: list[str] | None) -> tuple[int, ...] | None:
    if raw is None:
        return None
    if len(raw) > MAX_USER_IDS:
        raise BadUserInputError(f"At most {MAX_USER_IDS} user ids", field="userIds")
    ids: list[int] = []
    for value in raw:
        user_id = int_id(value)
        if user_id is None:
            raise BadUserInputError(f"Not a user id: {value[:40]!r}", field="userIds")
        ids.append(user_id)
    return tuple(sorted(set(ids)))


def build_selection(
    *,
    roles: list[Role] | None = None,
    user_ids: list[str] | None = None,
    two_factor_states: list[TwoFactorState] | None = None,
) -> UserSelection:
    # An empty list is refused rather than read as "everyone": omit the field for that.
    given = {"roles": roles, "userIds": user_ids, "twoFactorStates": two_factor_states}
    for name, value in given.items():
        if value is not None and not value:
            raise BadUserInputError(f"{name} must not be empty; omit it to select all", field=name)
    return UserSelection(
        roles=distinct(roles, "roles") if roles is not None else None,
        user_ids=parse_user_ids(user_ids),
        two_factor_states=(
            distinct(two_factor_states, "twoFactorStates")
            if two_factor_states is not None
            else None
        ),
    )


def selection_condition(
    domain_id: int, selection: UserSelection, rules: PasswordSecurityRules
) -> Q:
    """Evaluated again at every chunk, against the domain's current rules. Deactivated
    users are never selected (as an import's enableTwoFactor leaves them out): they cannot
    sign in to set 2FA up, and no mail about it goes to someone who has left; their 2FA
    settings stay as they are (CONTRACT section 10)."""
    condition = user_condition(
        domain_id,
        UserQuery(
            roles=list(selection.roles) if selection.roles else None,
            ids=list(selection.user_ids) if selection.user_ids is not None else None,
            active=True,
        ),
        rules,
    )
    if selection.two_factor_states:
        condition &= Q(
            *(
                user_condition(domain_id, UserQuery(two_factor_state=state), rules)
                for state in selection.two_factor_states
            ),
            join_type=Q.OR,
        )
    return condition
