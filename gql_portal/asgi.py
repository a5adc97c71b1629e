"""Entry point for ASGI servers: ``uvicorn gql_portal.asgi:app``."""

from gql_portal.app import create_app
from gql_portal.logs import configure_logging

configure_logging()
app = create_app()
