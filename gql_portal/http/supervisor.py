"""Several server processes (``serve --workers N``): one socket, one set of metrics.

prometheus_client counts per process unless ``PROMETHEUS_MULTIPROC_DIR`` names a directory
that every process writes to and that is empty when they start. ``serve`` makes a private
one for each start (and removes it at the end) unless the operator named one, which is
then used as it is (the systemd unit empties its own and shares it with the worker).
"""

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from uvicorn.config import Config
from uvicorn.supervisors.multiprocess import Multiprocess

from gql_portal.metrics import MULTIPROC_DIR, forget_process


class ListenError(RuntimeError):
    pass


def check_address_free(host: str, port: int) -> None:
    """One clear line for a busy port, before uvicorn logs the error and a traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ListenError(
                f"cannot bind to {host}:{port}: {error.strerror or error} "
                "(is another server running there? choose another --port)"
            ) from None


@contextmanager
def metrics_directory(workers: int) -> Iterator[None]:
    if workers == 1 or os.environ.get(MULTIPROC_DIR):
        yield
        return
    path = tempfile.mkdtemp(prefix="gql-portal-metrics-")
    os.environ[MULTIPROC_DIR] = path  # before the server processes start: they inherit it
    try:
        yield
    finally:
        del os.environ[MULTIPROC_DIR]
        shutil.rmtree(path, ignore_errors=True)


class MetricsMultiprocess(Multiprocess):
    """uvicorn's supervisor, telling prometheus_client of every server process that ended
    (crashed and replaced, retired by SIGTTOU or SIGHUP, stopped at shutdown)."""

    def __init__(self, config: Config, sockets: list[socket.socket]) -> None:
        super().__init__(config, sockets)
        self.known_pids: set[int] = set()

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()
        self.forget_ended()

    def handle_signals(self) -> None:
        super().handle_signals()
        self.forget_ended()

    def run(self) -> None:
        super().run()
        self.forget_ended()

    def forget_ended(self) -> None:
        current = {process.pid: process for process in self.processes if process.pid}
        alive = {pid for pid, process in current.items() if process.exitcode is None}
        for pid in (self.known_pids | current.keys()) - alive:
            forget_process(pid)
        self.known_pids = alive
