"""``gql-portal serve --workers N``: real server processes on a fresh SQLite file, one set
of metrics over all of them, and a busy port refused in one line."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from prometheus_client.mmap_dict import MmapedDict

from tests.http.server_process import free_port

CLI = Path(sys.executable).parent / "gql-portal"
HEALTHZ = 'gql_portal_http_requests_total{method="GET",route="/healthz",status="200"}'
LOGIN = (
    'mutation { login(email: "secadmin@demo.example", password: "correct-horse-battery")'
    " { token } }"
)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GQL_PORTAL_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        GQL_PORTAL_DATA_DIR=str(tmp_path / "data"),
        GQL_PORTAL_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        GQL_PORTAL_ARGON2_MEMORY_KIB="1024",
        GQL_PORTAL_ARGON2_TIME_COST="1",
        GQL_PORTAL_LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def _cli(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(CLI), *args], env=env, check=True, capture_output=True, timeout=180)


class Served:
    def __init__(self, env: dict[str, str], workers: int, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(CLI), "serve", "--port", str(self.port), "--workers", str(workers)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.log = log
        self.healthz_answered = 0
        deadline = time.monotonic() + 90
        while not self.healthz():
            assert self.process.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "serve did not answer /healthz"
            time.sleep(0.2)

    def healthz(self) -> bool:
        # A connection per request, so the kernel hands each to any server process.
        try:
            answer = httpx.get(f"{self.url}/healthz", headers={"Connection": "close"}, timeout=5)
        except httpx.HTTPError:
            return False
        self.healthz_answered += answer.status_code == 200
        return answer.status_code == 200

    def metrics(self) -> str:
        return httpx.get(f"{self.url}/metrics", timeout=10).text

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for served in started:
        served.stop()


def _sample(text: str, series: str) -> float | None:
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, flags=re.MULTILINE)
    return float(match[1]) if match else None


def _healthz_per_process(directory: Path) -> Counter[int]:
    """Each server process's own count, read from its file in the metrics directory."""
    counts: Counter[int] = Counter()
    for path in directory.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        for key, value, _, _ in MmapedDict.read_all_values_from_file(str(path)):
            _, name, labels, _ = json.loads(key)
            if name == "gql_portal_http_requests_total" and labels.get("route") == "/healthz":
                counts[pid] += int(value)
    return counts


def _until_both_answered(served: Served, directory: Path) -> Counter[int]:
    for _ in range(40):
        for _ in range(10):
            assert served.healthz()
        counts = _healthz_per_process(directory)
        if len(counts) >= 2:
            return counts
    raise AssertionError(f"400 requests on new connections reached one process: {counts}")


def _eventually(check: object, seconds: float = 10) -> None:
    assert callable(check)
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_serve_workers_merges_metrics_in_a_private_directory(
    tmp_path: Path, serving: list[Served]
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = _env(tmp_path, TMPDIR=str(temp))
    _cli(env, "migrate")
    served = Served(env, 2, tmp_path / "serve.log")
    serving.append(served)
    [directory] = temp.glob("gql-portal-metrics-*")  # made for this start

    _until_both_answered(served, directory)
    # /metrics, whichever process answers it, sums over both (a counter's increment
    # follows its answer by a moment).
    _eventually(lambda: _sample(served.metrics(), HEALTHZ) == served.healthz_answered)

    served.stop()
    assert served.process.returncode == 0, served.log.read_text()[-2000:]
    assert not directory.exists()  # removed again at the end of this start


def test_serve_workers_keeps_the_operators_directory_and_forgets_dead_processes(
    tmp_path: Path, serving: list[Served]
) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    env = _env(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(directory))
    _cli(env, "migrate")
    _cli(env, "demo")
    served = Served(env, 2, tmp_path / "serve.log")
    serving.append(served)

    # A bulk job runs inside the API process that took it (no Redis): its progress gauge
    # is that process's own "live" gauge.
    token = httpx.post(f"{served.url}/graphql", json={"query": LOGIN}).json()["data"]["login"]
    auth = {"Authorization": f"Bearer {token['token']}"}
    start = "mutation { startBulkTwoFactorEnablement(filter: {roles: [AUDITOR]}) { id } }"
    answer = httpx.post(f"{served.url}/graphql", json={"query": start}, headers=auth).json()
    job_id = answer["data"]["startBulkTwoFactorEnablement"]["id"]
    status = f'{{ bulkJob(id: "{job_id}") {{ status }} }}'

    def finished() -> bool:
        job = httpx.post(f"{served.url}/graphql", json={"query": status}, headers=auth).json()
        return bool(job["data"]["bulkJob"]["status"] == "SUCCEEDED")

    _eventually(finished, 30)
    progress = f'gql_portal_bulk_job_progress_ratio{{job_id="{job_id}"}}'
    assert _sample(served.metrics(), progress) == 1.0
    [gauge] = directory.glob("gauge_livemax_*.db")
    runner = int(gauge.stem.split("_")[2])

    os.kill(runner, signal.SIGKILL)  # uvicorn replaces it; the supervisor marks it dead
    _eventually(lambda: not gauge.exists(), 20)
    _eventually(served.healthz, 20)
    assert _sample(served.metrics(), progress) is None

    served.stop()
    assert directory.is_dir() and list(directory.glob("counter_*.db"))  # the operator's


def test_serve_on_a_busy_port_fails_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for workers in ("1", "2"):
            result = subprocess.run(
                [str(CLI), "serve", "--port", str(port), "--workers", workers],
                env=_env(tmp_path, GQL_PORTAL_ENCRYPTION_KEYS=Fernet.generate_key().decode()),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 1
            assert result.stderr.splitlines() == [
                f"gql-portal: cannot bind to 127.0.0.1:{port}: Address already in use "
                "(is another server running there? choose another --port)"
            ]
