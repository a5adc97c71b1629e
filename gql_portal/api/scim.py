"""The SCIM 2.0 endpoints at /scim/v2 (RFC 7644): discovery and Users.

Thin: each endpoint reads the request, calls gql_portal.scim, and answers with the
resource (scim/resources.py writes it; scim2-models when the request selects attributes);
api/scim_http.py holds the protocol's plumbing.
"""

from typing import Any

from scim2_models import (
    Context,
    ListResponse,
    NotFoundException,
    ResponseParameters,
    SearchRequest,
)
from scim2_models import User as ScimUser
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from gql_portal.accounts.models import User
from gql_portal.api.request_meta import request_meta
from gql_portal.api.scim_http import (
    BASE_PATH,
    Handler,
    ScimResponse,
    base_url,
    default_count,
    int_parameter,
    json_body,
    max_count,
    scim_endpoint,
)
from gql_portal.scim import changes, discovery, service
from gql_portal.scim.models import ScimToken
from gql_portal.scim.resources import resource_body, to_resource

LIST_RESPONSE_SCHEMA = str(ListResponse.__schema__)


def _listed(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE_SCHEMA],
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


def _selects(parameters: ResponseParameters[ScimUser[Any]]) -> bool:
    return bool(parameters.attributes or parameters.excluded_attributes)


def _user_body(
    user: User,
    location: str,
    context: Context,
    parameters: ResponseParameters[ScimUser[Any]],
) -> dict[str, Any]:
    if not _selects(parameters):
        return resource_body(user, location=location)
    return to_resource(user, location=location).model_dump(
        scim_ctx=context, response_parameters=parameters
    )


def user_body(request: Request, user: User, context: Context) -> dict[str, Any]:
    return _user_body(user, user_location(request, user), context, response_parameters(request))


async def _page(
    request: Request,
    token: ScimToken,
    *,
    filter: str | None,
    start_index: int,
    count: int,
    parameters: ResponseParameters[ScimUser[Any]],
) -> Response:
    page = await service.list_users(
        domain_id=token.domain_id,
        filter=filter,
        start_index=max(start_index, 1),
        count=min(max(count, 0), max_count(request)),
    )
    users_url = f"{base_url(request)}/Users"
    resources = [
        _user_body(user, f"{users_url}/{user.id}", Context.SEARCH_RESPONSE, parameters)
        for user in page.users
    ]
    return ScimResponse(
        {
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalResults": page.total,
            "startIndex": page.start_index,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
    )


async def list_users(request: Request, token: ScimToken) -> Response:
    return await _page(
        request,
        token,
        filter=request.query_params.get("filter"),
        start_index=int_parameter(request, "startIndex", 1),
        count=int_parameter(request, "count", default_count(request)),
        parameters=response_parameters(request),
    )


async def search_users(request: Request, token: ScimToken) -> Response:
    """POST .search (RFC 7644 3.4.3): the same query in a SearchRequest body."""
    search = SearchRequest[ScimUser[Any]].model_validate(
        await json_body(request), scim_ctx=Context.SEARCH_REQUEST
    )
    return await _page(
        request,
        token,
        filter=str(search.filter) if search.filter is not None else None,
        start_index=search.start_index or 1,
        count=default_count(request) if search.count is None else search.count,
        parameters=search,
    )


async def get_user(request: Request, token: ScimToken) -> Response:
    user = await service.get_user(domain_id=token.domain_id, user_id=request.path_params["id"])
    return ScimResponse(user_body(request, user, Context.RESOURCE_QUERY_RESPONSE))


async def create_user(request: Request, token: ScimToken) -> Response:
    body = await json_body(request)
    user = await changes.create_user(token=token, body=body, meta=request_meta(request))
    return ScimResponse(
        user_body(request, user, Context.RESOURCE_CREATION_RESPONSE),
        status_code=201,
        headers={"location": user_location(request, user)},
    )


async def replace_user(request: Request, token: ScimToken) -> Response:
    body = await json_body(request)
    user = await changes.replace_user(
        token=token, user_id=request.path_params["id"], body=body, meta=request_meta(request)
    )
    return ScimResponse(user_body(request, user, Context.RESOURCE_REPLACEMENT_RESPONSE))


async def patch_user(request: Request, token: ScimToken) -> Response:
    body = await json_body(request)
    user = await changes.patch_user(
        token=token, user_id=request.path_params["id"], body=body, meta=request_meta(request)
    )
    return ScimResponse(user_body(request, user, Context.RESOURCE_PATCH_RESPONSE))


async def delete_user(request: Request, token: ScimToken) -> Response:
    await changes.deactivate_user(
        token=token, user_id=request.path_params["id"], meta=request_meta(request)
    )
    return Response(status_code=204)


# Every method reaches scim_endpoint, so even OPTIONS is answered with a SCIM error body.
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _route(path: str, **handlers: Handler) -> Route:
    return Route(path, scim_endpoint(handlers), methods=ANY_METHOD)


def scim_routes() -> list[BaseRoute]:
    return [
        Mount(
            BASE_PATH,
            routes=[
                _route("/ServiceProviderConfig", GET=service_provider_config),
                _route("/ResourceTypes", GET=resource_types),
                _route("/ResourceTypes/{name}", GET=resource_types),
                _route("/Schemas", GET=schemas),
                _route("/Schemas/{urn}", GET=schemas),
                _route("/Users", GET=list_users, POST=create_user),
                _route("/Users/.search", POST=search_users),
                _route("/.search", POST=search_users),
                _route(
                    "/Users/{id}",
                    GET=get_user,
                    PUT=replace_user,
                    PATCH=patch_user,
                    DELETE=delete_user,
                ),
                Route("/{path:path}", scim_endpoint({}), methods=ANY_METHOD),
            ],
        )
    ]
