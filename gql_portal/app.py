import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from tortoise.contrib.starlette import RegisterTortoise

from gql_portal.api.operation import fast_operations
from gql_portal.api.schema import build_schema
from gql_portal.api.view import GraphQLView
from gql_portal.audit.export import export_audit_events
from gql_portal.audit.maintenance import AuditMaintenance
from gql_portal.bulk.dispatch import InProcessDispatcher, dispatcher_for
from gql_portal.crypto import load_keys
from gql_portal.db import close_db, ensure_data_dir, tortoise_config
from gql_portal.http.limits import BodyLimitMiddleware
from gql_portal.http.middleware import EdgeMiddleware
from gql_portal.http.ops import ops_routes
from gql_portal.settings import Settings, get_settings

log = logging.getLogger("gql_portal")


# A users page allocates tens of thousands of short-lived objects; at the default 700 the
# young generation is collected dozens of times per page (bench/README.md, 7.2).
GC_YOUNG_THRESHOLD = 20_000


def tune_garbage_collector() -> None:
    """What start-up built (modules, the schema, ORM metadata) lives as long as the process:
    frozen out of the collector's generations, a collection during a request walks only
    the objects requests made; and the young generation is collected less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def create_app(
    settings: Settings | None = None, *, manage_database: bool = True, middleware: bool = True
) -> Starlette:
    """The ASGI app; tests that own the database pass ``manage_database=False``.

    ``middleware=False`` drops the middleware stack: only bench/middleware.py uses it,
    to measure what the stack costs.
    """
    settings = settings or get_settings()
    load_keys(settings)  # fail at start, not at the first enrollment
    production = settings.is_production
    schema = build_schema(settings)
    graphql = GraphQLView(
        schema,
        graphql_ide=None if production else "graphiql",
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
    )
    graphql.fast = fast_operations(schema, settings)
    # Bulk jobs go to the arq queue, or run in this process when no Redis is configured.
    bulk_dispatcher = dispatcher_for(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not manage_database:
            yield
            return
        ensure_data_dir(settings)
        async with RegisterTortoise(app, config=tortoise_config(settings.resolved_database_url)):
            tune_garbage_collector()
            if isinstance(bulk_dispatcher, InProcessDispatcher):
                bulk_dispatcher.start_sweeper()
            # Without Redis no arq cron seals the audit chain: this process does it.
            audit_maintenance = AuditMaintenance() if settings.redis_url is None else None
            if audit_maintenance is not None:
                audit_maintenance.start()
            try:
                yield
            finally:
                if audit_maintenance is not None:
                    await audit_maintenance.stop()
                await bulk_dispatcher.close()
        await close_db()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            *ops_routes(settings),
            Route("/audit/export", export_audit_events, methods=["GET"]),
        ],
        middleware=[
            Middleware(EdgeMiddleware, production=production),
            Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes),
        ]
        if middleware
        else [],
        lifespan=lifespan,
    )
    app.state.bulk_dispatcher = bulk_dispatcher
    return app
