"""A real ``gql-portal serve`` process on a free port, against the test database."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.database import TestDatabase

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServerProcess:
    def __init__(self, database: TestDatabase, log: Path, *flags: str, **settings: str) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "GQL_PORTAL_DATABASE_URL": database.url,
            "GQL_PORTAL_LOG_LEVEL": "WARNING",
            **{f"GQL_PORTAL_{name.upper()}": value for name, value in settings.items()},
        }
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(BIN / "gql-portal"), "serve", "--port", str(self.port), *flags],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("serve did not answer /healthz within 60 s")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def connect(self) -> socket.socket:
        connection = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        return connection

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def read_answer(connection: socket.socket, timeout: float = 10) -> bytes:
    """Everything the server sends until it closes; a reset after an answer keeps it."""
    connection.settimeout(timeout)
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received
