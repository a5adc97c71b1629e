"""The discovery documents (RFC 7644 section 4): what this service supports, said once.

The User schema published is RFC 7643's, cut to the attributes the portal keeps, so a
client's mapping screen (Okta, Entra ID) offers nothing that would be dropped.
"""

from functools import lru_cache
from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    ETag,
    Filter,
    Patch,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
)
from scim2_models import User as ScimUser

from gql_portal.scim.resources import USER_SCHEMA

# The User attributes the portal stores (id, externalId and meta are common to every
# resource, RFC 7643 section 3.1).
KEPT_ATTRIBUTES = frozenset({"userName", "name", "displayName", "active", "emails", "roles"})
KEPT_NAME_PARTS = frozenset({"formatted", "givenName", "familyName"})


def service_provider_config(*, base_url: str, max_results: int) -> dict[str, Any]:
    config = ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=max_results),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[
            AuthenticationScheme(
                type="oauthbearertoken",
                name="Bearer token",
                description="A provisioning token made with createScimToken (gqlps_...)",
                primary=True,
            )
        ],
    )
    body = config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    body["meta"] = {
        "resourceType": "ServiceProviderConfig",
        "location": f"{base_url}/ServiceProviderConfig",
    }
    return body


def resource_types(*, base_url: str) -> list[dict[str, Any]]:
    body = ResourceType.from_resource(ScimUser).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    body["meta"] = {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/User"}
    return [body]


@lru_cache(maxsize=1)
def _user_schema() -> dict[str, Any]:
    schema: Schema = ScimUser.to_schema()
    body = schema.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    attributes = [item for item in body["attributes"] if item["name"] in KEPT_ATTRIBUTES]
    for attribute in attributes:
        if attribute["name"] == "name":
            attribute["subAttributes"] = [
                part for part in attribute["subAttributes"] if part["name"] in KEPT_NAME_PARTS
            ]
    body["attributes"] = attributes
    return body


def schemas(*, base_url: str) -> list[dict[str, Any]]:
    body = dict(_user_schema())
    body["meta"] = {"resourceType": "Schema", "location": f"{base_url}/Schemas/{USER_SCHEMA}"}
    return [body]
