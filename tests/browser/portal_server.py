"""The real portal for a browser: ``gql-portal serve`` on a free port with a database of its
own (a SQLite file, or a fresh PostgreSQL database when GQL_PORTAL_TEST_DATABASE_URL is set),
an arq worker when GQL_PORTAL_TEST_REDIS_URL is set, and data seeded with the CLI."""

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.database import TestDatabase
from tests.http.server_process import free_port

CLI = str(Path(sys.executable).parent / "gql-portal")
PASSWORD = "correct-horse-battery"


def _in_thread(statement: str, url: str) -> None:
    """One admin statement (tests/database.py's), on a thread of its own: the test's
    thread may own pytest-asyncio's event loop, which asyncio.run must not replace."""
    failures: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(TestDatabase(url)._admin(statement))
        except BaseException as error:  # re-raised on the caller's thread
            failures.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


class PortalServer:
    """``host`` is ``localhost``: the page's origin is http://localhost:<port>."""

    def __init__(self, folder: Path, **settings: str) -> None:
        self.folder = folder
        self.port = free_port()
        self.origin = f"http://localhost:{self.port}"
        self.log = folder / "server.log"
        if TEST_DATABASE_URL:
            self.database_url = TEST_DATABASE_URL.replace("{}", "browser_" + secrets.token_hex(4))
            _in_thread(f'CREATE DATABASE "{self._database_name}"', self.database_url)
        else:
            self.database_url = f"sqlite:///{folder / 'portal.sqlite3'}"
        self.env = {
            **os.environ,
            "GQL_PORTAL_DATA_DIR": str(folder / "data"),
            "GQL_PORTAL_DATABASE_URL": self.database_url,
            "GQL_PORTAL_LOG_LEVEL": "WARNING",
            **{f"GQL_PORTAL_{name.upper()}": value for name, value in settings.items()},
        }
        if TEST_REDIS_URL:
            self.env["GQL_PORTAL_REDIS_URL"] = TEST_REDIS_URL
        self.processes: list[subprocess.Popen[bytes]] = []
        self.cli("migrate")
        self.cli("demo")

    @property
    def _database_name(self) -> str:
        return TestDatabase(self.database_url).name

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [CLI, *args], env=self.env, capture_output=True, text=True, timeout=300, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"gql-portal {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout

    def create_user(self, domain: str, email: str, *roles: str) -> str:
        role_flags = [flag for role in roles for flag in ("--role", role)]
        self.cli(
            "create-user", "--domain", domain, "--email", email, "--password", PASSWORD, *role_flags
        )
        return email

    def start(self) -> "PortalServer":
        with self.log.open("ab") as out:
            self.processes.append(
                subprocess.Popen(
                    [CLI, "serve", "--host", "localhost", "--port", str(self.port)],
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
            if TEST_REDIS_URL:
                self.processes.append(
                    subprocess.Popen(
                        [CLI, "worker"], env=self.env, stdout=out, stderr=subprocess.STDOUT
                    )
                )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"portal exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.origin}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the portal did not answer /healthz within 60 s")

    def graphql(
        self, query: str, variables: dict[str, object] | None = None, *, token: str = ""
    ) -> dict[str, object]:
        """A bearer client of the public API (seeding and checking the server's state)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = httpx.post(
            f"{self.origin}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,
            timeout=30,
        ).json()
        assert "errors" not in answer, answer
        data: dict[str, object] = answer["data"]
        return data

    def token(self, email: str) -> str:
        """A full bearer session for an account without 2FA (or not yet enrolled)."""
        login = self.graphql(
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) "
            "{ status token } }",
            {"e": email, "p": PASSWORD},
        )["login"]
        assert isinstance(login, dict) and login["status"] == "AUTHENTICATED", login
        token: str = login["token"]
        return token

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
        if TEST_DATABASE_URL:
            _in_thread(
                f'DROP DATABASE IF EXISTS "{self._database_name}" WITH (FORCE)', self.database_url
            )
