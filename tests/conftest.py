"""Real databases for every test: SQLite files by default, PostgreSQL when
GQL_PORTAL_TEST_DATABASE_URL is set (``{}`` in it becomes a fresh database name)."""

import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

_DATA_DIR = Path(tempfile.mkdtemp(prefix="gql_portal_test_"))
os.environ["GQL_PORTAL_DATA_DIR"] = str(_DATA_DIR)
os.environ.setdefault("GQL_PORTAL_ENVIRONMENT", "development")
# Cheap argon2 in tests; tests/accounts/test_passwords.py checks the real defaults.
os.environ.setdefault("GQL_PORTAL_ARGON2_MEMORY_KIB", "1024")
os.environ.setdefault("GQL_PORTAL_ARGON2_TIME_COST", "1")
for _name in ("GQL_PORTAL_DATABASE_URL", "GQL_PORTAL_REDIS_URL", "GQL_PORTAL_ENCRYPTION_KEYS"):
    os.environ.pop(_name, None)

import httpx  # noqa: E402
from starlette.applications import Starlette  # noqa: E402

from gql_portal import clock  # noqa: E402
from gql_portal.app import create_app  # noqa: E402
from tests.database import TestDatabase  # noqa: E402
from tests.graphql import GraphQLClient  # noqa: E402

TEST_DATABASE_URL = os.environ.get("GQL_PORTAL_TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("GQL_PORTAL_TEST_REDIS_URL")


def pytest_report_header() -> str:
    backend = "PostgreSQL" if TEST_DATABASE_URL else "SQLite"
    return f"gql_portal tests on {backend}; redis: {'yes' if TEST_REDIS_URL else 'no'}"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return _DATA_DIR


@pytest.fixture(scope="session")
async def database(data_dir: Path) -> AsyncIterator[TestDatabase]:
    url = TEST_DATABASE_URL
    if url is None:
        url = f"sqlite:///{data_dir / ('test_' + secrets.token_hex(4) + '.sqlite3')}"
    async with TestDatabase.created(url) as db:
        yield db


@pytest.fixture(autouse=True)
async def clean_state(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    clock.reset()
    if "database" in request.fixturenames or "client" in request.fixturenames:
        db: TestDatabase = request.getfixturevalue("database")
        await db.truncate()
    yield
    clock.reset()


@pytest.fixture(scope="session")
def app(database: TestDatabase) -> Starlette:
    return create_app(manage_database=False)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http)


@pytest.fixture
def travel() -> Iterator[type[clock.__class__] | object]:
    yield clock.travel
