"""A portal user as a SCIM User (RFC 7643 section 4.1), and back.

userName and the primary email are the portal email; displayName (else name.formatted,
else givenName and familyName joined) the display name; roles the portal's four roles.

Requests are read by scim2-models. Answers are written by ``resource_body`` from the stored
row, in the shape scim2-models writes (tests/scim/test_resource_body.py compares the two for
every shape a row can take): what the portal stored has been checked once, and checking it
again on the way out cost more than the database (bench/scim.py), and refused addresses the
portal accepts ("a..b@example.org") with a 400 for the whole page. scim2-models still
writes the answers that select attributes (attributes / excludedAttributes).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scim2_models import Email, EnterpriseUser, Meta, Name
from scim2_models import Role as ScimRole
from scim2_models import User as ScimUser

from gql_portal.accounts.models import Role, User
from gql_portal.accounts.validation import require_display_name, require_email
from gql_portal.errors import BadUserInputError
from gql_portal.inputs import text_problem

RESOURCE_TYPE = "User"
USER_SCHEMA = str(ScimUser.__schema__)
# What requests are read as: Entra ID sends the enterprise extension by default. Its
# attributes are accepted and not stored (the portal has no column for them).
RequestUser = ScimUser[EnterpriseUser]


@dataclass(frozen=True, slots=True)
class ProvisionedUser:
    """What a SCIM User says about a portal user; None = the resource does not say."""

    email: str
    display_name: str
    active: bool
    roles: list[Role] | None
    external_id: str | None


def to_resource(
    user: User, *, location: str, model: type[ScimUser[Any]] = ScimUser
) -> ScimUser[Any]:
    """``location`` is the resource's own URL (meta.location); ``model`` RequestUser for
    the resource a PATCH applies to. Built without validation (``model_construct``): the
    row's values were checked when they were stored, and email-validator's stricter rules
    would refuse addresses the portal holds (a PATCH could not deactivate their user)."""
    return model.model_construct(
        id=str(user.id),
        external_id=user.external_id,
        user_name=user.email,
        display_name=user.display_name or None,
        name=Name.model_construct(formatted=user.display_name) if user.display_name else None,
        emails=[Email.model_construct(value=user.email, primary=True, type=Email.Type.work)],
        active=user.active,
        roles=[ScimRole.model_construct(value=role.value) for role in user.role_list],
        meta=Meta.model_construct(
            resource_type=RESOURCE_TYPE,
            created=user.created_at,
            last_modified=user.updated_at or user.created_at,
            location=location,
        ),
    )


def timestamp(moment: datetime) -> str:
    """A SCIM dateTime (xsd:dateTime in UTC) as pydantic writes it: microseconds only when
    there are some, and Z."""
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    return utc.replace(tzinfo=None).isoformat() + "Z"


def resource_body(user: User, *, location: str) -> dict[str, Any]:
    """The user as the JSON SCIM answers with (all attributes, none selected)."""
    body: dict[str, Any] = {"schemas": [USER_SCHEMA], "id": str(user.id)}
    if user.external_id is not None:
        body["externalId"] = user.external_id
    body["meta"] = {
        "resourceType": RESOURCE_TYPE,
        "created": timestamp(user.created_at),
        "lastModified": timestamp(user.updated_at or user.created_at),
        "location": location,
    }
    body["userName"] = user.email
    if user.display_name:
        body["name"] = {"formatted": user.display_name}
        body["displayName"] = user.display_name
    body["active"] = user.active
    body["emails"] = [{"value": user.email, "type": "work", "primary": True}]
    body["roles"] = [{"value": role.value} for role in user.role_list]
    return body


def _display_name(resource: ScimUser[Any]) -> str:
    if resource.display_name:
        return resource.display_name
    name = resource.name
    if name is None:
        return ""
    if name.formatted:
        return name.formatted
    return " ".join(part for part in (name.given_name, name.family_name) if part)


def _roles(resource: ScimUser[Any]) -> list[Role] | None:
    """The four role names only (any case): SCIM creates no other role, and a value it
    does not know is refused, not dropped. Absent = the portal's roles stay as they are."""
    if resource.roles is None:
        return None
    roles: list[Role] = []
    for entry in resource.roles:
        value = (entry.value or "").strip().upper()
        if value not in Role.__members__:
            raise BadUserInputError(
                f"roles: {entry.value!r} is not one of {', '.join(Role)}", field="roles"
            )
        roles.append(Role(value))
    return roles or [Role.USER]


def _storable(field: str, value: str | None) -> None:
    if value is not None and text_problem(value) is not None:
        raise BadUserInputError(f"{field} holds characters that cannot be stored", field=field)


def from_resource(resource: ScimUser[Any]) -> ProvisionedUser:
    _storable("userName", resource.user_name)
    _storable("displayName", _display_name(resource))
    _storable("externalId", resource.external_id)
    if not resource.user_name:
        raise BadUserInputError("userName is required", field="userName")
    require_email(resource.user_name)
    email = resource.user_name.strip()  # the address as written; compared normalised
    external_id = resource.external_id
    if external_id is not None and len(external_id) > 255:
        raise BadUserInputError("externalId is longer than 255 characters", field="externalId")
    return ProvisionedUser(
        email=email,
        display_name=require_display_name(_display_name(resource)),
        active=True if resource.active is None else resource.active,
        roles=_roles(resource),
        external_id=external_id,
    )
