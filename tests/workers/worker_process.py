"""A real ``gql-portal worker`` subprocess against the test database and Redis."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.database import TestDatabase

BIN = Path(sys.executable).parent


class WorkerProcess:
    def __init__(self, database: TestDatabase, redis_url: str, log: Path, **settings: str) -> None:
        env = {
            **os.environ,
            "GQL_PORTAL_DATABASE_URL": database.url,
            "GQL_PORTAL_REDIS_URL": redis_url,
            **{f"GQL_PORTAL_{name.upper()}": value for name, value in settings.items()},
        }
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(BIN / "gql-portal"), "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
