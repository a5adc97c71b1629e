"""SCIM over HTTP (RFC 7644 section 3): its media type, its error body, its request bodies
and query parameters, and the one wrapper every SCIM endpoint runs in (token, errors,
outages)."""

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import ValidationError
from scim2_models import (
    Error,
    InvalidSyntaxException,
    InvalidValueException,
    NotFoundException,
    SCIMException,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gql_portal.api.credentials import app_settings, server_origin
from gql_portal.dependencies import unavailable_error
from gql_portal.errors import ErrorCode, PortalError, UnauthenticatedError
from gql_portal.logs import REQUEST_ID
from gql_portal.scim.models import ScimToken
from gql_portal.scim.tokens import resolve_token

MEDIA_TYPE = "application/scim+json"
ACCEPTED_BODIES = frozenset({MEDIA_TYPE, "application/json"})
BASE_PATH = "/scim/v2"

log = logging.getLogger("gql_portal")
Handler = Callable[[Request, ScimToken], Awaitable[Response]]


class ScimResponse(JSONResponse):
    media_type = MEDIA_TYPE


def error_response(
    status: int, detail: str, scim_type: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump()
    return ScimResponse(body, status_code=status, headers=headers)


def _from_error(error: Error) -> Response:
    status = error.status or 400
    return error_response(status, error.detail or "Bad request", error.scim_type)


def _from_scim_exception(error: SCIMException) -> Response:
    """scim2-models' own refusal; one that wraps pydantic's ValidationError (a PATCH value
    of the wrong type) says it in one line, as a request body's does, not pydantic's
    multi-line text with the model's name and a link to its documentation."""
    cause = error.__cause__
    if isinstance(cause, ValidationError):
        return _from_validation(cause)
    return _from_error(error.to_error())


def _from_validation(error: ValidationError) -> Response:
    """The first problem, as scim2-models words it, without pydantic's "Value error, "."""
    first = Error.from_validation_errors(error)[0]
    detail = (first.detail or "Bad request").removeprefix("Value error, ")
    return error_response(first.status or 400, detail, first.scim_type)


def _portal_error(error: PortalError) -> Response:
    """The portal's errors that reach here as SCIM answers (scim/changes.py has turned
    provisioning's refusals into SCIM's own)."""
    if error.code is ErrorCode.NOT_FOUND:
        return error_response(404, error.message)
    if error.code is ErrorCode.UNAUTHENTICATED:
        return error_response(401, error.message, headers={"www-authenticate": "Bearer"})
    if error.code is ErrorCode.BAD_USER_INPUT:
        return error_response(400, error.message, "invalidValue")
    if error.code is ErrorCode.FORBIDDEN:
        return error_response(403, error.message)
    return error_response(500, "Internal server error")


def base_url(request: Request) -> str:
    """The service's absolute base URL for meta.location (api/origins.py decides the
    origin behind proxies); relative when the request names no host."""
    return (server_origin(request) or "") + BASE_PATH


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthenticatedError("Authorization must be: Bearer <SCIM token>")
    return token.strip()


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; http/limits.py has refused a body over the limit."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type not in ACCEPTED_BODIES:
        raise InvalidSyntaxException(detail=f"The body must be {MEDIA_TYPE} (or application/json)")
    raw = await request.body()
    try:
        decoded = json.loads(raw)
    except RecursionError:
        raise InvalidSyntaxException(detail="The JSON body is nested too deeply") from None
    except ValueError:
        # Also Python's refusal of an integer of more than 4,300 digits.
        raise InvalidSyntaxException(detail="The body is not valid JSON") from None
    if not isinstance(decoded, dict):
        raise InvalidSyntaxException(detail="The body must be a JSON object")
    return decoded


def int_parameter(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    text = raw.strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isascii() or not digits.isdigit() or len(digits) > 18:
        raise InvalidValueException(detail=f"{name} must be an integer")
    return int(text)


def max_count(request: Request) -> int:
    return app_settings(request).scim_max_count


def default_count(request: Request) -> int:
    return app_settings(request).scim_default_count


def scim_endpoint(handlers: Mapping[str, Handler]) -> Callable[[Request], Awaitable[Response]]:
    """One path's methods: authenticate the token (401), run the method's handler (405 for
    another method), and answer every failure with a SCIM error body: the protocol's, the
    portal rules', and 503 while the database is down."""
    # HEAD is GET without the body (RFC 9110 9.3.2); uvicorn sends no body for it.
    methods = {**handlers, "HEAD": handlers["GET"]} if "GET" in handlers else dict(handlers)
    allowed = ", ".join(methods)

    async def endpoint(request: Request) -> Response:
        try:
            token = await resolve_token(bearer_token(request))
            handler = methods.get(request.method)
            if not handlers:
                raise NotFoundException(detail=f"No SCIM endpoint at {request.url.path}")
            if handler is None:
                return error_response(
                    405, f"{request.method} is not allowed here", headers={"allow": allowed}
                )
            return await handler(request, token)
        except SCIMException as error:
            return _from_scim_exception(error)
        except ValidationError as error:
            return _from_validation(error)
        except PortalError as error:
            return _portal_error(error)
        except Exception as error:
            unavailable = unavailable_error(error)
            if unavailable is None:
                # Masked like every unexpected fault, in the SCIM shape a client parses.
                log.error("unhandled error (request %s)", REQUEST_ID.get(), exc_info=error)
                return error_response(500, "Internal server error")
            retry_after = str(unavailable.extensions["retryAfter"])
            return error_response(503, unavailable.message, headers={"retry-after": retry_after})

    return endpoint
