"""SCIM's writes: create, replace, patch and deactivate a user of the token's domain.

Every change goes through accounts/provisioning.py, the one place of section 10's rules
(last admin, own roles, sessions revoked on deactivation, audit with details.via "scim"),
inside one transaction per request; the token's id and label go into each event.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from scim2_models import (
    Context,
    InvalidValueException,
    MutabilityException,
    SCIMException,
    UniquenessException,
)
from tortoise.transactions import in_transaction

from gql_portal.accounts import provisioning
from gql_portal.accounts.models import Role, User, encode_roles
from gql_portal.accounts.provisioning import Via
from gql_portal.errors import BadUserInputError
from gql_portal.request_meta import RequestMeta
from gql_portal.scim.extension import patch_without_extension, resource_without_extension
from gql_portal.scim.models import ScimToken
from gql_portal.scim.patch import patched
from gql_portal.scim.resources import ProvisionedUser, RequestUser, from_resource, to_resource
from gql_portal.scim.service import get_user

VIA: Via = "scim"


def token_details(token: ScimToken) -> dict[str, Any]:
    return {"tokenId": token.id, "tokenLabel": token.label}


def scim_refusal(error: BadUserInputError) -> SCIMException:
    """What provisioning.py refuses, in SCIM's words: a taken email is a uniqueness
    conflict, section 10's role rules (last admin, own roles) a mutability refusal (the
    value may not be changed now), any other input an invalid value."""
    reason = error.extensions.get("reason")
    if reason == "taken":
        return UniquenessException(detail=error.message)
    if reason == "role_rule":
        return MutabilityException(detail=error.message)
    return InvalidValueException(detail=error.message)


def refuse_password_change(resource: Any) -> None:
    """A password is set once, at creation; afterwards it is the user's own
    (changePassword, a reset link): refused, not silently dropped."""
    if resource.password is not None:
        raise InvalidValueException(
            detail="password can be set only when the user is created; users change their own"
        )


@asynccontextmanager
async def _provisioning() -> AsyncIterator[Any]:
    """One transaction for the request's changes, their refusals as SCIM errors."""
    try:
        async with in_transaction() as connection:
            yield connection
    except BadUserInputError as error:
        raise scim_refusal(error) from None


async def create_user(*, token: ScimToken, body: dict[str, Any], meta: RequestMeta) -> User:
    """A password the identity provider sends is the user's (the domain's minimum length;
    hashed off the event loop by provisioning); without one the user is invited."""
    resource = RequestUser.model_validate(
        resource_without_extension(body), scim_ctx=Context.RESOURCE_CREATION_REQUEST
    )
    wanted = from_resource(resource)
    async with _provisioning() as connection:
        user = await provisioning.create_user(
            domain_id=token.domain_id,
            email=wanted.email,
            display_name=wanted.display_name,
            roles=wanted.roles or [Role.USER],
            password=resource.password,
            actor=None,
            meta=meta,
            via=VIA,
            external_id=wanted.external_id,
            details=token_details(token),
            using_db=connection,
        )
        if not wanted.active:
            user = await provisioning.set_user_active(
                user_id=user.id,
                domain_id=token.domain_id,
                active=False,
                actor=None,
                meta=meta,
                via=VIA,
                details=token_details(token),
                using_db=connection,
            )
    return user


async def _apply(
    *, token: ScimToken, user: User, wanted: ProvisionedUser, meta: RequestMeta
) -> User:
    """Only what differs is written, so a repeated PUT or PATCH records nothing."""
    roles = wanted.roles if wanted.roles is not None else user.role_list
    email_changed = wanted.email != user.email
    changed = (
        email_changed
        or wanted.display_name != user.display_name
        or encode_roles(roles) != user.roles
        or wanted.external_id != user.external_id
    )
    details = token_details(token)
    async with _provisioning() as connection:
        if wanted.active != user.active and not wanted.active:
            # Deactivate first: a deactivated user's role change counts no active admin.
            user = await provisioning.set_user_active(
                user_id=user.id, domain_id=token.domain_id, active=False, actor=None,
                meta=meta, via=VIA, details=details, using_db=connection,
            )  # fmt: skip
        if changed:
            user = await provisioning.update_user(
                user_id=user.id,
                domain_id=token.domain_id,
                display_name=wanted.display_name,
                roles=roles,
                # "" clears: a PUT without externalId, a PATCH that removes it.
                external_id=wanted.external_id or "",
                email=wanted.email if email_changed else None,
                actor=None,
                meta=meta,
                via=VIA,
                details=details,
                using_db=connection,
            )
        if wanted.active != user.active and wanted.active:
            user = await provisioning.set_user_active(
                user_id=user.id, domain_id=token.domain_id, active=True, actor=None,
                meta=meta, via=VIA, details=details, using_db=connection,
            )  # fmt: skip
    return user


async def replace_user(
    *, token: ScimToken, user_id: str, body: dict[str, Any], meta: RequestMeta
) -> User:
    """PUT: the resource as sent; absent `roles` leave the portal's roles as they are (an
    identity provider that does not manage roles must not strip an admin's)."""
    user = await get_user(domain_id=token.domain_id, user_id=user_id)
    resource = RequestUser.model_validate(
        resource_without_extension(body), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST
    )
    refuse_password_change(resource)
    return await _apply(token=token, user=user, wanted=from_resource(resource), meta=meta)


async def patch_user(
    *, token: ScimToken, user_id: str, body: dict[str, Any], meta: RequestMeta
) -> User:
    user = await get_user(domain_id=token.domain_id, user_id=user_id)
    body, applies = patch_without_extension(body)
    if not applies:
        return user  # only the enterprise extension, which is not stored: nothing changes
    current = to_resource(user, location="", model=RequestUser)
    # name.formatted only mirrors displayName: left in, it would bring back a display name
    # the PATCH removes. A name the PATCH sets still names the user.
    current.name = None
    resource = patched(current, body)
    refuse_password_change(resource)
    wanted = from_resource(resource)
    if wanted.roles is None:
        # The stored user always has roles: none left means every one was removed.
        wanted = replace(wanted, roles=[Role.USER])
    return await _apply(token=token, user=user, wanted=wanted, meta=meta)


async def deactivate_user(*, token: ScimToken, user_id: str, meta: RequestMeta) -> None:
    """DELETE keeps the user (and their 2FA settings): it deactivates, as CONTRACT section
    10 asks; deleting an inactive user again changes nothing."""
    user = await get_user(domain_id=token.domain_id, user_id=user_id)
    if not user.active:
        return
    async with _provisioning() as connection:
        await provisioning.set_user_active(
            user_id=user.id,
            domain_id=token.domain_id,
            active=False,
            actor=None,
            meta=meta,
            via=VIA,
            details=token_details(token),
            using_db=connection,
        )
