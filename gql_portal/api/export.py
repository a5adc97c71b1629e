"""``GET /audit/export``: the HTTP side of the audit export (audit/export.py streams it)."""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from gql_portal.accounts.authorization import READERS, require_role
from gql_portal.accounts.sessions import require_authenticated, resolve_viewer
from gql_portal.api.credentials import request_credentials
from gql_portal.api.errors import unavailable_body, unavailable_headers
from gql_portal.api.request_meta import request_meta
from gql_portal.audit.export import CONTENT_TYPES, export_body
from gql_portal.audit.filters import query_from_params
from gql_portal.clock import utcnow
from gql_portal.dependencies import unavailable_error
from gql_portal.errors import (
    BadUserInputError,
    ErrorCode,
    ForbiddenError,
    PortalError,
    UnauthenticatedError,
)

_STATUS = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.TWO_FACTOR_REQUIRED: 403,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.BAD_USER_INPUT: 400,
}


def _error(error: PortalError, request_id: str | None) -> Response:
    extensions = {"code": error.code.value, **error.extensions, "requestId": request_id}
    body = {"errors": [{"message": error.message, "extensions": extensions}]}
    return JSONResponse(body, status_code=_STATUS.get(error.code, 500))


async def export_audit_events(request: Request) -> Response:
    """Same filters and roles as ``auditEvents``; the token comes as ``Bearer`` or, from
    the portal's own pages (an export link), in the session cookie."""
    try:
        credentials = request_credentials(request)
        if credentials.refusal is not None:
            raise ForbiddenError(credentials.refusal)
        token = credentials.token
        if not token:
            raise UnauthenticatedError("Authorization must be: Bearer <token>")
        viewer = require_authenticated(await resolve_viewer(token))
        await require_role(
            viewer.user, READERS, operation="auditExport", meta=request_meta(request)
        )
        format = request.query_params.get("format", "csv")
        if format not in CONTENT_TYPES:
            raise BadUserInputError("format must be csv or ndjson", field="format")
        query = query_from_params(request.query_params, request.query_params.getlist("actions"))
    except PortalError as error:
        return _error(error, request.scope.get("state", {}).get("request_id"))
    except Exception as error:
        # The database is down before the stream starts: the contract's 503, not a 500.
        unavailable = unavailable_error(error)
        if unavailable is None:
            raise
        request_id = request.scope.get("state", {}).get("request_id")
        return JSONResponse(
            unavailable_body(unavailable, request_id),
            status_code=503,
            headers=unavailable_headers(unavailable.extensions["retryAfter"]),
        )
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    filename = f"audit-events-{viewer.user.domain_id}-{stamp}.{format}"
    return StreamingResponse(
        export_body(domain_id=viewer.user.domain_id, query=query, format=format),
        media_type=CONTENT_TYPES[format],
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )
