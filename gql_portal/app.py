import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from tortoise.contrib.starlette import RegisterTortoise

from gql_portal.api.schema import build_schema
from gql_portal.api.view import GraphQLView
from gql_portal.crypto import load_keys
from gql_portal.db import close_db, ensure_data_dir, tortoise_config
from gql_portal.http.middleware import RequestIdMiddleware
from gql_portal.settings import Settings, get_settings

log = logging.getLogger("gql_portal")


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> Starlette:
    """The ASGI app; tests that own the database pass ``manage_database=False``."""
    settings = settings or get_settings()
    load_keys(settings)  # fail at start, not at the first enrollment
    production = settings.is_production
    schema = build_schema()
    graphql = GraphQLView(schema, graphql_ide=None if production else "graphiql")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not manage_database:
            yield
            return
        ensure_data_dir(settings)
        async with RegisterTortoise(
            app, config=tortoise_config(settings.resolved_database_url)
        ):
            yield
        await close_db()

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
        ],
        middleware=[Middleware(RequestIdMiddleware)],
        lifespan=lifespan,
    )
