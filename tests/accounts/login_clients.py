"""Clients of the test app from chosen addresses, and settings changed for one test."""

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import httpx
from starlette.applications import Starlette

from gql_portal.accounts import passwords
from gql_portal.settings import get_settings
from tests.graphql import GraphQLClient


@asynccontextmanager
async def client_from(app: Starlette, ip: str) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http)


def ip_number(index: int) -> str:
    """A distinct documentation address (198.18.0.0/15) per index."""
    return f"198.18.{index // 250}.{index % 250 + 1}"


@contextmanager
def portal_settings(**values: object) -> Iterator[None]:
    """GQL_PORTAL_<NAME>=value for one test; the settings and hashing queue are rebuilt."""
    saved = {name: os.environ.get(f"GQL_PORTAL_{name.upper()}") for name in values}
    for name, value in values.items():
        os.environ[f"GQL_PORTAL_{name.upper()}"] = str(value)
    get_settings.cache_clear()
    passwords.reset_password_caches()
    try:
        yield
    finally:
        for name, previous in saved.items():
            if previous is None:
                os.environ.pop(f"GQL_PORTAL_{name.upper()}", None)
            else:
                os.environ[f"GQL_PORTAL_{name.upper()}"] = previous
        get_settings.cache_clear()
        passwords.reset_password_caches()
