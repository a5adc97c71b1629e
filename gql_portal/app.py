import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from tortoise.contrib.starlette import RegisterTortoise

from gql_portal.accounts.password_links import finish_password_resets
from gql_portal.api.export import export_audit_events
from gql_portal.api.import_admission import may_send_an_import
from gql_portal.api.operation import fast_operations
from gql_portal.api.origins import check_public_origin, exact_origins
from gql_portal.api.schema import build_schema
from gql_portal.api.scim import scim_routes
from gql_portal.api.view import GraphQLView
from gql_portal.audit.maintenance import AuditMaintenance
from gql_portal.bulk.dispatch import InProcessDispatcher, dispatcher_for
from gql_portal.crypto import load_keys
from gql_portal.db import api_tortoise_config, close_db, ensure_data_dir
from gql_portal.http.cors import CorsMiddleware
from gql_portal.http.graphiql import graphiql_routes
from gql_portal.http.import_route import PATH as IMPORT_PATH
from gql_portal.http.import_route import ImportEndpoint
from gql_portal.http.limits import BodyLimitMiddleware, BodyTimeoutMiddleware
from gql_portal.http.middleware import EdgeMiddleware, last_resort
from gql_portal.http.ops import ops_routes
from gql_portal.http.portal import portal_routes
from gql_portal.notifications.delivery import MailDelivery, refresh_backlog_gauges
from gql_portal.notifications.transport import check_mail_settings
from gql_portal.settings import Settings, get_settings

log = logging.getLogger("gql_portal")


def freeze_startup_objects() -> None:
    """What start-up built (modules, the schema, ORM metadata) lives as long as the process:
    frozen out of the collector's generations, a full collection during a request walks
    only the objects requests made. (The young generation's threshold stays at Python's
    default: raising it sped up users pages but put 10-20 ms collections into `me`'s p99,
    bench/README.md 7.4.)"""
    gc.collect()
    gc.freeze()


class PortalApp(Starlette):
    """Starlette with the edge outside its whole stack: ServerErrorMiddleware (always the
    outermost of Starlette's own layers) answers with ``last_resort`` inside the edge, so
    even that answer gets the request id and the security headers."""

    def __init__(self, *, edge: Callable[[ASGIApp], ASGIApp] | None, **options: Any) -> None:
        super().__init__(**options)
        self.edge = edge

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        return stack if self.edge is None else self.edge(stack)


def create_app(
    settings: Settings | None = None, *, manage_database: bool = True, middleware: bool = True
) -> Starlette:
    """The ASGI app; tests that own the database pass ``manage_database=False``.

    ``middleware=False`` drops the middleware stack: only bench/middleware.py uses it,
    to measure what the stack costs.
    """
    settings = settings or get_settings()
    load_keys(settings)  # fail at start, not at the first enrollment
    check_mail_settings(settings)  # production mails through SMTP, never a local Maildir
    production = settings.is_production
    schema = build_schema(settings)
    cors_origins = exact_origins(settings.cors_origins)  # a bad list fails the start
    check_public_origin(settings)
    graphql = GraphQLView(
        schema,
        graphql_ide=None if production else "graphiql",
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        allowed_origins=sorted(cors_origins),
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
        async with RegisterTortoise(app, config=api_tortoise_config(settings)):
            freeze_startup_objects()
            if isinstance(bulk_dispatcher, InProcessDispatcher):
                bulk_dispatcher.start_sweeper()
            # Without Redis no arq cron seals the audit chain: this process does it.
            audit_maintenance = AuditMaintenance() if settings.redis_url is None else None
            if audit_maintenance is not None:
                audit_maintenance.start()
            # ... nor delivers the outbox: this process does, in the background.
            mail_delivery = MailDelivery(settings) if settings.redis_url is None else None
            if mail_delivery is not None:
                mail_delivery.start()
            try:
                yield
            finally:
                if mail_delivery is not None:
                    await mail_delivery.stop()
                if audit_maintenance is not None:
                    await audit_maintenance.stop()
                await finish_password_resets()
                await bulk_dispatcher.close()
        await close_db()

    app = PortalApp(
        edge=partial(EdgeMiddleware, production=production) if middleware else None,
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route(
                IMPORT_PATH,
                ImportEndpoint(
                    graphql,
                    admit=may_send_an_import,
                    max_bytes=settings.max_body_bytes,
                    import_max_bytes=settings.import_max_bytes,
                ),
            ),
            WebSocketRoute("/graphql", graphql),
            *ops_routes(settings, refresh=refresh_backlog_gauges),
            Route("/audit/export", export_audit_events, methods=["GET"]),
            *scim_routes(),
            *portal_routes(),
            *([] if production else graphiql_routes()),
        ],
        middleware=[
            # Only when origins are listed: the default stack pays nothing for CORS.
            *([Middleware(CorsMiddleware, origins=cors_origins)] if cors_origins else []),
            Middleware(BodyTimeoutMiddleware, seconds=settings.body_timeout_seconds),
            Middleware(
                BodyLimitMiddleware,
                max_bytes=settings.max_body_bytes,
                delegated=frozenset({IMPORT_PATH}),  # it applies its own limit
            ),
        ]
        if middleware
        else [],
        exception_handlers={Exception: last_resort},
        lifespan=lifespan,
    )
    app.state.bulk_dispatcher = bulk_dispatcher
    app.state.settings = settings
    return app
