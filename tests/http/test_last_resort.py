"""Whatever escapes every layer still leaves in the contract's shape, with the request id
and the security headers, over a real socket: Starlette's ServerErrorMiddleware answered
a text/plain "Internal Server Error" with none of them (the edge sat inside it)."""

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gql_portal.app import create_app

SECRET_DETAIL = "password=hunter2 at db.internal:5432"


@contextlib.asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[str]:
    """The app behind uvicorn on a free port of 127.0.0.1; yields its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="off", log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def _app_with_a_failing_route(error: Exception) -> Starlette:
    """The real app (edge, body limit, routes) plus one endpoint with a bug in it."""

    async def failing(request: Request) -> Response:
        raise error

    app = create_app(manage_database=False)
    app.router.routes.append(Route("/failing", failing, methods=["GET", "POST"]))
    return app


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (RuntimeError(SECRET_DETAIL), 500, "INTERNAL_SERVER_ERROR"),
        (ConnectionRefusedError(SECRET_DETAIL), 503, "SERVICE_UNAVAILABLE"),
    ],
    ids=["bug", "dependency fault"],
)
async def test_an_escaping_exception_is_a_contract_error_with_the_edge_headers(
    database: object,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    status: int,
    code: str,
) -> None:
    caplog.set_level(logging.ERROR, logger="gql_portal")
    async with (
        served(_app_with_a_failing_route(error)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        response = await http.post("/failing", headers={"X-Request-ID": "last-resort-01"})
        assert (await http.get("/healthz")).status_code == 200  # the server lives on
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == code
    assert body["errors"][0]["extensions"]["requestId"] == "last-resort-01"
    assert SECRET_DETAIL not in response.text and "Traceback" not in response.text
    assert json.dumps(body).count("errors") == 1
    # The edge's headers, on the answer of the layer it used to sit inside.
    assert response.headers["x-request-id"] == "last-resort-01"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    if status == 503:
        assert response.headers["retry-after"] == "1"
    else:  # a bug is logged, with its request id, for the operator
        logged = [r for r in caplog.records if r.name == "gql_portal.errors"]
        assert logged and "last-resort-01" in logged[0].getMessage()
        assert logged[0].exc_info is not None and logged[0].exc_info[1] is error
