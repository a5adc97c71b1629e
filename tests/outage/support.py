"""Real outages for the tests: the test database cut off, and a Redis of the test's own."""

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator

import uvicorn
from starlette.applications import Starlette

from tests.database import TestDatabase


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _admin(database: TestDatabase, statement: str) -> None:
    await database._admin(statement)


async def cut_off(database: TestDatabase) -> None:
    """No new connection to this test database, and every open one killed, until none is
    left (a connection half-way through its start-up when the door closed survives one
    round of killing; on a loaded machine, several)."""
    assert database.is_postgres
    await _admin(database, f'ALTER DATABASE "{database.name}" ALLOW_CONNECTIONS false')
    async with database.admin_connection() as admin:
        deadline = time.monotonic() + 30
        quiet_rounds = 0
        while quiet_rounds < 1:
            assert time.monotonic() < deadline, "connections to the test database survived"
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                database.name,
            )
            quiet_rounds = quiet_rounds + 1 if killed == 0 else 0
            await asyncio.sleep(0.1)


async def restore(database: TestDatabase) -> None:
    await _admin(database, f'ALTER DATABASE "{database.name}" ALLOW_CONNECTIONS true')


@contextlib.asynccontextmanager
async def database_cut_off(database: TestDatabase) -> AsyncIterator[None]:
    await cut_off(database)
    try:
        yield
    finally:
        await restore(database)


@contextlib.asynccontextmanager
async def live_server(app: Starlette) -> AsyncIterator[str]:
    """The app behind a real uvicorn socket on a free port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class RedisServer:
    """A redis-server of the test's own on a free port: killing it hurts no one else."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is not installed"
        command = [binary, "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen([*command, "--daemonize", "no"], stdout=subprocess.DEVNULL)
        for _ in range(200):
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1),
            ):
                return
            time.sleep(0.025)
        raise AssertionError("redis-server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        if server.process is not None:
            server.kill()
