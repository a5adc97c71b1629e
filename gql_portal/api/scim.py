"""The SCIM 2.0 endpoints at /scim/v2 (RFC 7644): discovery and Users.

Thin: each endpoint reads the request, calls gql_portal.scim, and answers with the
resource as scim2-models serialises it; api/scim_http.py holds the protocol's plumbing.
"""

from typing import Any

from scim2_models import (
    Context,
    ListResponse,
    NotFoundException,
    ResponseParameters,
)
from scim2_models import User as ScimUser
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from gql_portal.accounts.models import User
from gql_portal.api.scim_http import (
    BASE_PATH,
    ScimResponse,
    base_url,
    default_count,
    int_parameter,
    max_count,
    scim_endpoint,
)
from gql_portal.scim import discovery, service
from gql_portal.scim.models import ScimToken
from gql_portal.scim.resources import to_resource


def _listed(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def _one_of(resources: list[dict[str, Any]], key: str, wanted: str) -> dict[str, Any]:
    for resource in resources:
        if resource[key].lower() == wanted.lower():
            return resource
    raise NotFoundException(detail=f"{wanted} not found")


async def service_provider_config(request: Request, token: ScimToken) -> Response:
    return ScimResponse(
        discovery.service_provider_config(
            base_url=base_url(request), max_results=max_count(request)
        )
    )


async def resource_types(request: Request, token: ScimToken) -> Response:
    listed = discovery.resource_types(base_url=base_url(request))
    name = request.path_params.get("name")
    return ScimResponse(_listed(listed) if name is None else _one_of(listed, "id", name))


async def schemas(request: Request, token: ScimToken) -> Response:
    listed = discovery.schemas(base_url=base_url(request))
    urn = request.path_params.get("urn")
    return ScimResponse(_listed(listed) if urn is None else _one_of(listed, "id", urn))


def response_parameters(request: Request) -> ResponseParameters[ScimUser[Any]]:
    """attributes / excludedAttributes (RFC 7644 3.9), comma-separated."""

    def names(key: str) -> list[str] | None:
        raw = request.query_params.get(key)
        return [part.strip() for part in raw.split(",") if part.strip()] if raw else None

    return ResponseParameters[ScimUser[Any]](
        attributes=names("attributes"), excluded_attributes=names("excludedAttributes")
    )


def user_location(request: Request, user: User) -> str:
    return f"{base_url(request)}/Users/{user.id}"


def user_body(request: Request, user: User, context: Context) -> dict[str, Any]:
    return to_resource(user, location=user_location(request, user)).model_dump(
        scim_ctx=context, response_parameters=response_parameters(request)
    )


async def list_users(request: Request, token: ScimToken) -> Response:
    parameters = response_parameters(request)
    count = min(max(int_parameter(request, "count", default_count(request)), 0), max_count(request))
    start_index = max(int_parameter(request, "startIndex", 1), 1)
    page = await service.list_users(
        domain_id=token.domain_id,
        filter=request.query_params.get("filter"),
        start_index=start_index,
        count=count,
    )
    users_url = f"{base_url(request)}/Users"
    listed = ListResponse[ScimUser[Any]](
        total_results=page.total,
        start_index=page.start_index,
        items_per_page=len(page.users),
        resources=[to_resource(user, location=f"{users_url}/{user.id}") for user in page.users],
    )
    return ScimResponse(
        listed.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=parameters)
    )


async def get_user(request: Request, token: ScimToken) -> Response:
    user = await service.get_user(domain_id=token.domain_id, user_id=request.path_params["id"])
    return ScimResponse(user_body(request, user, Context.RESOURCE_QUERY_RESPONSE))


async def unknown(request: Request, token: ScimToken) -> Response:
    raise NotFoundException(detail=f"No SCIM endpoint at {request.url.path}")


ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def scim_routes() -> list[BaseRoute]:
    return [
        Mount(
            BASE_PATH,
            routes=[
                Route("/ServiceProviderConfig", scim_endpoint(service_provider_config)),
                Route("/ResourceTypes", scim_endpoint(resource_types)),
                Route("/ResourceTypes/{name}", scim_endpoint(resource_types)),
                Route("/Schemas", scim_endpoint(schemas)),
                Route("/Schemas/{urn}", scim_endpoint(schemas)),
                Route("/Users", scim_endpoint(list_users), methods=["GET"]),
                Route("/Users/{id}", scim_endpoint(get_user), methods=["GET"]),
                Route("/{path:path}", scim_endpoint(unknown), methods=ANY_METHOD),
            ],
        )
    ]
