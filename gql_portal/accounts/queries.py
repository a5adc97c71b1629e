import strawberry

from gql_portal.accounts import directory, own_account, password_links
from gql_portal.accounts.models import Role
from gql_portal.accounts.presenters import present_user, present_users
from gql_portal.accounts.types import (
    DomainType,
    PageInfo,
    PasswordLink,
    SessionType,
    UserConnection,
    UserEdge,
    UserType,
)
from gql_portal.api.context import Info
from gql_portal.api.permissions import FullyAuthenticated, current_viewer
from gql_portal.two_factor.gate import TwoFactorState


@strawberry.input
class UserFilter:
    search: str | None = strawberry.field(
        default=None, description="Part of the email or display name."
    )
    roles: list[Role] | None = strawberry.field(
        default=None, description="Users holding any of these roles."
    )
    two_factor_state: TwoFactorState | None = None
    active: bool | None = strawberry.field(
        default=None, description="Active (true) or deactivated (false) users only."
    )


@strawberry.type
class AccountQueries:
    @strawberry.field(
        description="The signed-in user; null without a token. Works with a pending token.",
    )
    async def me(self, info: Info) -> UserType | None:
        if info.context.auth_error is None and info.context.viewer is None:
            return None
        viewer = current_viewer(info, allow_pending=True)
        return await present_user(info, viewer.user)

    @strawberry.field(permission_classes=[FullyAuthenticated])
    async def domain(self, info: Info) -> DomainType:
        viewer = current_viewer(info)
        domain = await info.context.loaders.domain.load(viewer.user.domain_id)
        assert domain is not None
        return DomainType.from_model(domain)

    @strawberry.field(permission_classes=[FullyAuthenticated])
    async def users(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: UserFilter | None = None,
    ) -> UserConnection:
        viewer = current_viewer(info)
        query = directory.UserQuery(
            search=filter.search if filter else None,
            roles=list(filter.roles) if filter and filter.roles else None,
            two_factor_state=filter.two_factor_state if filter else None,
            active=filter.active if filter else None,
        )
        page = await directory.list_users(
            actor=viewer.user,
            rules=viewer.rules,
            first=first,
            after=after,
            query=query,
            meta=info.context.meta,
        )
        nodes = await present_users(info, page.items)
        return UserConnection(
            edges=[
                UserEdge(cursor=cursor, node=node)
                for node, cursor in zip(nodes, page.cursors, strict=True)
            ],
            page_info=PageInfo.of(page.cursors, page.has_next_page),
            count=lambda: directory.count_users(actor=viewer.user, rules=viewer.rules, query=query),
        )

    @strawberry.field(
        permission_classes=[FullyAuthenticated],
        description="The viewer's live sessions (not revoked, not expired), newest first.",
    )
    async def my_sessions(self, info: Info) -> list[SessionType]:
        viewer = current_viewer(info)
        sessions = await own_account.live_sessions(viewer)
        return [
            SessionType.from_model(session, current_id=viewer.session.id) for session in sessions
        ]

    @strawberry.field(permission_classes=[FullyAuthenticated])
    async def user(self, info: Info, id: strawberry.ID) -> UserType | None:
        viewer = current_viewer(info)
        user = await directory.get_user(actor=viewer.user, user_id=str(id), meta=info.context.meta)
        return await present_user(info, user)

    @strawberry.field(
        description=(
            "The link behind a mailed token if it may be used now, else null (counted like a"
            " bad token of setPassword for this client). The request's token plays no part."
        )
    )
    async def password_link(self, info: Info, token: str) -> PasswordLink | None:
        link = await password_links.read_link(token=token, meta=info.context.meta)
        if link is None:
            return None
        return PasswordLink(
            purpose=link.purpose,
            min_password_length=link.rules.min_password_length,
            expires_at=link.expires_at,
        )
