"""Provisioning tokens: a domain's SCIM clients (Okta, Entra ID) authenticate with one.

A token is shown once, at creation; only its SHA-256 is stored (like sessions), and it
sees nothing outside its domain.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from tortoise.transactions import in_transaction

from gql_portal.accounts.authorization import SYSTEM_ADMINS, require_role
from gql_portal.accounts.models import User
from gql_portal.accounts.sessions import hash_token
from gql_portal.audit.models import AuditAction
from gql_portal.audit.services import record_audit_event
from gql_portal.clock import utcnow
from gql_portal.errors import BadUserInputError, NotFoundError, UnauthenticatedError
from gql_portal.inputs import int_id, text_problem
from gql_portal.request_meta import RequestMeta
from gql_portal.scim.models import ScimToken

# Not a session token's `gqlp_`: a leaked one is recognisable for what it opens.
TOKEN_PREFIX = "gqlps_"
MAX_LABEL_LENGTH = 100
# Identity providers call in bursts: one write a minute per token, not one per request.
LAST_USED_RESOLUTION = timedelta(seconds=60)
# A token longer than any we issue is not looked up at all.
MAX_TOKEN_LENGTH = 100


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    record: ScimToken


def _checked_label(label: str) -> str:
    cleaned = label.strip()
    if not cleaned:
        raise BadUserInputError("A label is required", field="label")
    if len(cleaned) > MAX_LABEL_LENGTH:
        raise BadUserInputError(
            f"The label is longer than {MAX_LABEL_LENGTH} characters", field="label"
        )
    if text_problem(cleaned) is not None:
        raise BadUserInputError("The label holds characters that cannot be stored", field="label")
    return cleaned


def _details(record: ScimToken) -> dict[str, object]:
    return {"via": "graphql", "tokenId": record.id, "label": record.label}


async def create_token(*, actor: User, label: str, meta: RequestMeta) -> IssuedToken:
    await require_role(actor, SYSTEM_ADMINS, operation="createScimToken", meta=meta)
    cleaned = _checked_label(label)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with in_transaction() as connection:
        record = await ScimToken.create(
            domain_id=actor.domain_id,
            label=cleaned,
            token_hash=hash_token(token),
            created_at=utcnow(),
            created_by_id=actor.id,
            created_by_email=actor.email,
            using_db=connection,
        )
        await record_audit_event(
            action=AuditAction.SCIM_TOKEN_CREATED,
            meta=meta,
            actor=actor,
            details=_details(record),
            using_db=connection,
        )
    return IssuedToken(token=token, record=record)


async def list_tokens(*, actor: User, meta: RequestMeta) -> list[ScimToken]:
    """The domain's tokens, revoked ones included (the list says when), newest first."""
    await require_role(actor, SYSTEM_ADMINS, operation="scimTokens", meta=meta)
    records: list[ScimToken] = await ScimToken.filter(domain_id=actor.domain_id).order_by(
        "-created_at", "-id"
    )
    return records


async def revoke_token(*, actor: User, token_id: str, meta: RequestMeta) -> ScimToken:
    """Revoking a revoked token changes nothing and records nothing; another domain's
    token answers like one that does not exist."""
    await require_role(actor, SYSTEM_ADMINS, operation="revokeScimToken", meta=meta)
    key = int_id(token_id)
    if key is None:
        raise NotFoundError("SCIM token not found")
    now = utcnow()
    async with in_transaction() as connection:
        record: ScimToken | None = (
            await ScimToken.filter(id=key, domain_id=actor.domain_id).using_db(connection).first()
        )
        if record is None:
            raise NotFoundError("SCIM token not found")
        revoked = (
            await ScimToken.filter(id=key, revoked_at=None)
            .using_db(connection)
            .update(revoked_at=now)
        )
        if not revoked:
            return record
        record.revoked_at = now
        await record_audit_event(
            action=AuditAction.SCIM_TOKEN_REVOKED,
            meta=meta,
            actor=actor,
            details=_details(record),
            using_db=connection,
        )
    return record


async def resolve_token(token: str) -> ScimToken:
    """The live token behind a bearer value; anything else is UNAUTHENTICATED (401)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        raise UnauthenticatedError("Invalid or revoked SCIM token")
    record: ScimToken | None = await ScimToken.get_or_none(token_hash=hash_token(token))
    if record is None or record.revoked_at is not None:
        raise UnauthenticatedError("Invalid or revoked SCIM token")
    now = utcnow()
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_RESOLUTION:
        await ScimToken.filter(id=record.id).update(last_used_at=now)
        record.last_used_at = now
    return record
