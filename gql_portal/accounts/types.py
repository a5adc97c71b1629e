from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from gql_portal.accounts.models import AccountLinkPurpose, Domain, Role, Session, User
from gql_portal.accounts.sessions import session_expiry
from gql_portal.api.context import Info
from gql_portal.two_factor.gate import LoginStatus

if TYPE_CHECKING:
    from gql_portal.rules.types import PasswordSecurityRulesType
    from gql_portal.two_factor.types import TwoFactorStatsType, UserTwoFactorType

strawberry.enum(Role, name="Role", description="A user may hold several roles.")
strawberry.enum(LoginStatus, name="LoginStatus")
strawberry.enum(AccountLinkPurpose, name="AccountLinkPurpose")


@strawberry.type(name="User")
class UserType:
    id: strawberry.ID
    email: str
    display_name: str
    roles: list[Role]
    created_at: datetime
    last_login_at: datetime | None
    active: bool = strawberry.field(
        description="False once deactivated: the user cannot log in; their 2FA is kept."
    )
    deactivated_at: datetime | None
    model: strawberry.Private[User]
    # Admin information: null unless the viewer may list users (accounts.presenters).
    login_locked_until: datetime | None = strawberry.field(
        default=None,
        description="Until when the password throttle refuses this account's email"
        " (unlockUserLogin lifts it); null when not locked, or for roles that may not list"
        " users.",
    )
    external_id: str | None = strawberry.field(
        default=None,
        description="The identity provider's id (SCIM externalId); null for roles that may"
        " not list users.",
    )
    # Filled in by accounts.presenters for whole pages at once: plain attributes, so the
    # executor reads them without a resolver call per row (see bench/README.md, 7.2).
    # A UserType built any other way leaves them None: asking for them is then an error.
    domain: "DomainType" = strawberry.field(default=None)
    two_factor: Annotated["UserTwoFactorType", strawberry.lazy("gql_portal.two_factor.types")] = (
        strawberry.field(default=None)
    )

    @classmethod
    def from_model(cls, user: User) -> "UserType":
        return cls(
            id=strawberry.ID(str(user.id)),
            email=user.email,
            display_name=user.display_name,
            roles=user.role_list,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
            active=user.active,
            deactivated_at=user.deactivated_at,
            model=user,
        )


@strawberry.type(name="Domain")
class DomainType:
    id: strawberry.ID
    name: str
    model: strawberry.Private[Domain]

    @classmethod
    def from_model(cls, domain: Domain) -> "DomainType":
        return cls(id=strawberry.ID(str(domain.id)), name=domain.name, model=domain)

    @strawberry.field
    async def password_security_rules(
        self, info: Info
    ) -> Annotated["PasswordSecurityRulesType", strawberry.lazy("gql_portal.rules.types")]:
        from gql_portal.rules.types import PasswordSecurityRulesType

        rules = await info.context.loaders.rules.load(self.model.id)
        assert rules is not None
        return PasswordSecurityRulesType.from_model(rules)

    @strawberry.field(
        description="For roles that may list users; FORBIDDEN otherwise and in a login answer."
    )
    async def two_factor_stats(
        self, info: Info
    ) -> Annotated["TwoFactorStatsType", strawberry.lazy("gql_portal.two_factor.types")]:
        from gql_portal.two_factor.types import TwoFactorStatsType

        return await TwoFactorStatsType.load(info, self.model)


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None

    @classmethod
    def of(cls, cursors: Sequence[str], has_next_page: bool) -> "PageInfo":
        return cls(has_next_page=has_next_page, end_cursor=cursors[-1] if cursors else None)


@strawberry.type
class UserEdge:
    cursor: str
    node: UserType


@strawberry.type
class UserConnection:
    edges: list[UserEdge]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Users matching the filter, all pages: one COUNT.")
    async def total_count(self) -> int:
        return await self.count()


@strawberry.type(name="Session")
class SessionType:
    id: strawberry.ID
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime = strawberry.field(
        description="When it dies if unused: the earlier of the idle and absolute limits."
    )
    ip: str | None
    user_agent: str | None
    current: bool = strawberry.field(description="The session of this request.")

    @classmethod
    def from_model(cls, session: Session, *, current_id: int) -> "SessionType":
        return cls(
            id=strawberry.ID(str(session.id)),
            created_at=session.created_at,
            last_seen_at=session.last_seen_at,
            expires_at=session_expiry(session),
            ip=session.ip,
            user_agent=session.user_agent,
            current=session.id == current_id,
        )


@strawberry.type
class LoginPayload:
    status: LoginStatus
    # Null when the session went into the portal's cookie (X-Session-Transport: cookie).
    token: str | None
    expires_at: datetime
    user: UserType
    enrollment_deadline: datetime | None
    recovery_codes: list[str] | None = None


@strawberry.type(
    description="A mailed link that may be used now: what the Set password page shows."
)
class PasswordLink:
    purpose: AccountLinkPurpose
    min_password_length: int = strawberry.field(description="The user's domain's minimum.")
    expires_at: datetime
