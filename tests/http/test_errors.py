"""Unexpected failures are masked and logged with the request id; expected ones keep their code."""

import io
import json
import logging

import strawberry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from gql_portal.accounts.models import User
from gql_portal.api.errors import ErrorCodes
from gql_portal.api.schema import PortalSchema
from gql_portal.api.view import GraphQLView
from gql_portal.errors import NotFoundError
from gql_portal.http.middleware import EdgeMiddleware
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient
from tests.http.support import client_for

SECRET_DETAIL = "password=hunter2 at db.internal:5432"
log = logging.getLogger("gql_portal.tests.broken")


@strawberry.type
class BrokenQuery:
    @strawberry.field
    def broken(self) -> str | None:
        log.info("about to fail")
        raise RuntimeError(SECRET_DETAIL)

    @strawberry.field
    def missing(self) -> str | None:
        raise NotFoundError()

    @strawberry.field
    def fine(self) -> str:
        return "yes"


def broken_app() -> Starlette:
    """The project's schema class, error extension, view and middleware around a failing field."""
    schema = PortalSchema(query=BrokenQuery, extensions=[ErrorCodes])
    view = GraphQLView(schema)
    return Starlette(
        routes=[Route("/graphql", view, methods=["GET", "POST"])],
        middleware=[Middleware(EdgeMiddleware)],
    )


async def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    log_lines: io.StringIO,
) -> None:
    async with client_for(broken_app()) as client:
        result = await client.execute(
            "{ broken missing fine }", headers={"X-Request-ID": "req-0123456789"}
        )
    assert result.status == 200
    assert result.data == {"broken": None, "missing": None, "fine": "yes"}
    by_path = {error["path"][0]: error for error in result.errors}
    assert by_path["broken"]["message"] == "Internal server error"
    assert by_path["broken"]["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": "req-0123456789",
    }
    # Every error names its request (CONTRACT section 5), expected ones too.
    assert by_path["missing"]["extensions"] == {"code": "NOT_FOUND", "requestId": "req-0123456789"}
    assert by_path["missing"]["message"] == "Not found"
    raw = json.dumps(result.body)
    assert SECRET_DETAIL not in raw and "Traceback" not in raw and "RuntimeError" not in raw
    assert "extensions" not in result.body  # no tracing or timing data at the top level

    # httpx logs on the client side of the test, outside any request.
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    lines = [line for line in lines if not line["logger"].startswith("httpx")]
    assert len(lines) >= 2, lines
    assert {line["request_id"] for line in lines} == {"req-0123456789"}
    failure = next(line for line in lines if line["level"] == "ERROR")
    assert "RuntimeError: " + SECRET_DETAIL in failure["exception"]
    assert "Traceback" in failure["exception"]


async def test_a_broken_row_in_the_real_app_is_masked(client: GraphQLClient) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    token = (await client.login(user.email, PASSWORD))["token"]
    await User.filter(id=user.id).update(roles=",WIZARD,")
    result = await client.execute("{ me { id roles } }", token=token)
    raw = json.dumps(result.body)
    assert "WIZARD" not in raw and "ValueError" not in raw
    assert result.status == 200
    assert result.body["data"] == {"me": None}
    assert result.code == "INTERNAL_SERVER_ERROR"
    assert result.errors[0]["message"] == "Internal server error"
    assert result.errors[0]["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": result.headers["x-request-id"],
    }
