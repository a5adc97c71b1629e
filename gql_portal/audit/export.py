"""``GET /audit/export``: the audit log as CSV or NDJSON, streamed in keyset batches."""

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from gql_portal.accounts.authorization import READERS, require_role
from gql_portal.accounts.sessions import require_authenticated, resolve_viewer
from gql_portal.api.errors import unavailable_body, unavailable_headers
from gql_portal.api.view import bearer_token, request_meta
from gql_portal.audit.filters import AuditQuery, query_from_params
from gql_portal.audit.models import EVENT_COLUMNS
from gql_portal.audit.reader import stream_events
from gql_portal.clock import utcnow
from gql_portal.dependencies import unavailable_error
from gql_portal.errors import (
    BadUserInputError,
    ErrorCode,
    PortalError,
    UnauthenticatedError,
)

COLUMNS = ("id", *EVENT_COLUMNS)
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}
BATCH_SIZE = 1000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_STATUS = {
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.TWO_FACTOR_REQUIRED: 403,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.BAD_USER_INPUT: 400,
}


def _escape_control(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def csv_cell(value: Any) -> str:
    """Spreadsheets run cells that start with = + - @ (tab, CR too): make them text."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True)
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        text = "'" + text
    return _CONTROL.sub(_escape_control, text)


def csv_lines(rows: Iterable[dict[str, Any]], *, header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(COLUMNS)
    writer.writerows([csv_cell(row[column]) for column in COLUMNS] for row in rows)
    return buffer.getvalue()


def ndjson_lines(rows: Iterable[dict[str, Any]]) -> str:
    # ensure_ascii escapes every control character (and U+2028/2029) as \uXXXX.
    return "".join(
        json.dumps({column: _json_value(row[column]) for column in COLUMNS}) + "\n" for row in rows
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if value is not None and not isinstance(value, str | int | float | bool | dict | list):
        return str(value)
    return value


async def export_body(
    *, domain_id: int, query: AuditQuery, format: str, batch_size: int = BATCH_SIZE
) -> AsyncIterator[bytes]:
    """One chunk per database batch, so the response never holds more than a batch."""
    batch: list[dict[str, Any]] = []
    first = True
    if format == "csv":
        yield csv_lines([], header=True).encode()
    async for row in stream_events(domain_id=domain_id, query=query, batch_size=batch_size):
        batch.append(row)
        if len(batch) == batch_size:
            yield _render(batch, format)
            batch.clear()
            first = False
    if batch or first:
        yield _render(batch, format)


def _render(rows: list[dict[str, Any]], format: str) -> bytes:
    text = csv_lines(rows, header=False) if format == "csv" else ndjson_lines(rows)
    return text.encode()


def _error(error: PortalError, request_id: str | None) -> Response:
    extensions = {"code": error.code.value, **error.extensions, "requestId": request_id}
    body = {"errors": [{"message": error.message, "extensions": extensions}]}
    return JSONResponse(body, status_code=_STATUS.get(error.code, 500))


async def export_audit_events(request: Request) -> Response:
    """Same filters and roles as ``auditEvents``; the token comes as ``Bearer``."""
    try:
        token = bearer_token(request)
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
