"""What every bench script shares: throwaway databases, pinned servers, the load generator,
and the side-by-side report. Only 127.0.0.1 is ever a target."""

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "template1"}
PG_URL = "postgres://postgres@127.0.0.1:5432/{}"
ROOT = Path(__file__).resolve().parent.parent
# Two cores: the server under test gets CPU 0, the load generator CPU 1.
SERVER_CPU = 0
LOADGEN_CPU = 1


def cpus() -> set[int]:
    return os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()


def pin(cpu: int | None) -> Callable[[], None] | None:
    if cpu is None or cpu not in cpus():
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def parser(description: str | None) -> argparse.ArgumentParser:
    args = argparse.ArgumentParser(description=description)
    args.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args.add_argument("--runs", type=int, default=3, help="alternating runs; medians reported")
    args.add_argument("--duration", type=float, default=6.0, help="seconds measured per run")
    args.add_argument("--warmup", type=float, default=1.5, help="seconds discarded per run")
    args.add_argument("--connections", type=int, default=16, help="concurrent connections")
    args.add_argument("--json", dest="json_out", help="also write the results to this file")
    return args


def backends(choice: str) -> list[str]:
    return ["sqlite", "postgres"] if choice == "both" else [choice]


# --- databases -----------------------------------------------------------------------------


async def _pg_admin(statement: str) -> None:
    import asyncpg

    # template1, never the shared `postgres` database; new databases copy template0.
    conn = await asyncpg.connect(**PG_ADMIN)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@dataclass
class BenchDatabase:
    kind: str
    url: str
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    smtp_port: int = 0


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


@contextlib.contextmanager
def mail_sink() -> Iterator[int]:
    """A local SMTP server (aiosmtpd's Sink, a process of its own) that accepts and discards
    every message; yields its port once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"{HOST}:{port}", "-c",
         "aiosmtpd.handlers.Sink"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the SMTP sink did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def bench_database(kind: str, label: str) -> Iterator[BenchDatabase]:
    """A fresh database migrated by ``gql-portal migrate``; dropped (or deleted) afterwards.
    Production settings, so ``GQL_PORTAL_SMTP_URL`` names a local sink (mail_sink)."""
    with mail_sink() as smtp_port:
        yield from _bench_database(kind, label, smtp_port)


def _bench_database(kind: str, label: str, smtp_port: int) -> Iterator[BenchDatabase]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"gql_portal_bench_{label}_"))
    name = f"gql_portal_bench_{label}_{os.getpid()}_{secrets.token_hex(3)}"
    if kind == "postgres":
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE template0'))
        url = PG_URL.format(name)
    else:
        url = f"sqlite:///{data_dir / 'bench.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GQL_PORTAL_")}
    env.update(
        GQL_PORTAL_DATABASE_URL=url,
        GQL_PORTAL_DATA_DIR=str(data_dir),
        GQL_PORTAL_ENCRYPTION_KEYS=_fernet_key(),
        GQL_PORTAL_ENVIRONMENT="production",
        # Production refuses to start without SMTP; the sink discards what it is sent.
        GQL_PORTAL_SMTP_URL=f"smtp://{HOST}:{smtp_port}",
        # No access log line per request, for the portal and the bare route alike.
        GQL_PORTAL_LOG_LEVEL="WARNING",
    )
    db = BenchDatabase(kind=kind, url=url, data_dir=data_dir, env=env, smtp_port=smtp_port)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    from gql_portal.settings import get_settings

    get_settings.cache_clear()
    try:
        subprocess.run(
            [sys.executable, "-m", "gql_portal.cli", "migrate"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=ROOT,
        )
        yield db
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        if kind == "postgres":
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        shutil.rmtree(data_dir, ignore_errors=True)


def run_with_orm(db: BenchDatabase, work: Callable[[], Any]) -> Any:
    """Run ``await work()`` with Tortoise connected to the bench database.

    In a forked child: Tortoise keeps per-model state from its first init, so a process that
    seeded SQLite could not then seed PostgreSQL.
    """
    import multiprocessing
    import traceback

    def child(sender: Any) -> None:
        from gql_portal.db import close_db, tortoise_config

        async def main() -> Any:
            from tortoise import Tortoise

            await Tortoise.init(config=tortoise_config(db.url), _enable_global_fallback=True)
            try:
                return await work()
            finally:
                await close_db()

        try:
            sender.send((True, asyncio.run(main())))
        except BaseException:
            sender.send((False, traceback.format_exc()))

    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=child, args=(sender,))
    process.start()
    ok, value = receiver.recv()
    process.join()
    if not ok:
        raise RuntimeError(f"seeding failed:\n{value}")
    return value


# --- bulk jobs -----------------------------------------------------------------------------

DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
# A job nobody picks up within this long means the worker is not running.
UNCLAIMED_SECONDS = 30.0


async def redis_answers(url: str) -> bool:
    """Whether the bench's Redis database answers; it is emptied for the run."""
    from redis.asyncio import Redis

    redis = Redis.from_url(url, socket_connect_timeout=1)
    try:
        await redis.flushdb()
        return True
    except Exception:
        return False
    finally:
        await redis.aclose()


def usable_redis(url: str | None) -> str | None:
    """``url`` when it answers; None (the in-process runner) when it does not or is ''."""
    return url if url and asyncio.run(redis_answers(url)) else None


@contextlib.contextmanager
def bench_worker(db: BenchDatabase, redis_url: str | None) -> Iterator[None]:
    """``gql-portal worker`` on ``redis_url`` for the block (nothing when it is None); its
    output goes to worker.log in the bench's data folder."""
    if redis_url is None:
        yield
        return
    log = db.data_dir / "worker.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gql_portal.cli", "worker"],
            env={**db.env, "GQL_PORTAL_REDIS_URL": redis_url},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        time.sleep(2)  # worker start-up is not part of the job
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited:\n{log.read_text()[-3000:]}")
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


async def timed_job(start: Callable[[Any], Any], redis_url: str | None) -> tuple[float, Any]:
    """Seconds from ``await start(dispatcher)`` (which returns the BulkJob) to the job's end,
    through arq (``redis_url``) or the in-process runner; and the finished job."""
    from gql_portal.bulk.dispatch import InProcessDispatcher, JobDispatcher, QueueDispatcher
    from gql_portal.bulk.models import BulkJob

    dispatcher: JobDispatcher = QueueDispatcher(redis_url) if redis_url else InProcessDispatcher()
    started = time.perf_counter()
    job = await start(dispatcher)
    while not job.is_final:
        await asyncio.sleep(0.02)
        job = await BulkJob.get(id=job.id)
        if job.status == "QUEUED" and time.perf_counter() - started > UNCLAIMED_SECONDS:
            raise RuntimeError(f"no runner took the job in {UNCLAIMED_SECONDS:.0f} s")
    took = time.perf_counter() - started
    await dispatcher.close()
    if job.status != "SUCCEEDED":
        raise RuntimeError(f"the job ended {job.status}: {job.error}")
    return took, job


# --- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"


def _wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{server.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.url("/healthz"), timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not answer /healthz within {timeout:.0f}s")


@contextlib.contextmanager
def server(
    db: BenchDatabase, name: str, command: list[str], cpu: int | None = SERVER_CPU
) -> Iterator[Server]:
    """Start ``command`` (it gets ``--port``) pinned to ``cpu``; stop it afterwards."""
    port = free_port()
    log = db.data_dir / f"{name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*command, "--host", HOST, "--port", str(port)],
            env=db.env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=pin(cpu),
        )
    running = Server(name=name, port=port, process=process, log=log)
    try:
        _wait_ready(running)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def portal_server(db: BenchDatabase, cpu: int | None = SERVER_CPU) -> Any:
    """The real thing: ``gql-portal serve`` (uvicorn, uvloop and httptools when installed)."""
    return server(db, "portal", [sys.executable, "-m", "gql_portal.cli", "serve"], cpu)


def bench_server(db: BenchDatabase, app: str, cpu: int | None = SERVER_CPU) -> Any:
    return server(db, app, [sys.executable, "-m", "bench.serve", app], cpu)


def post(target: Server, body: dict[str, Any], token: str | None = None) -> Any:
    return post_path(target, "/graphql", body, token)


def post_path(target: Server, path: str, body: dict[str, Any], token: str | None = None) -> Any:
    request = urllib.request.Request(
        target.url(path),
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"}
        | ({"authorization": f"Bearer {token}"} if token else {}),
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


# --- load ----------------------------------------------------------------------------------


def graphql_request(
    query: str, token: str | None, variables: dict[str, Any] | None = None, path: str = "/graphql"
) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    body: dict[str, Any] = {"query": query}
    if variables:
        body["variables"] = variables
    return {"method": "POST", "path": path, "headers": headers, "body": json.dumps(body)}


def stream(
    name: str,
    requests: list[dict[str, Any]],
    connections: int,
    *,
    once: bool = False,
    totp_secret: str | None = None,
    rate: float | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "connections": connections,
        "requests": requests,
        "once": once,
        "totp_secret": totp_secret,
        "rate": rate,
    }


def alternate(
    runs: int, baseline: Callable[[], Any], ours: Callable[[], Any]
) -> tuple[list[Any], list[Any]]:
    """``runs`` measurements of each side, back to back, the order swapped every run."""
    first: list[Any] = []
    second: list[Any] = []
    for run in range(runs):
        if run % 2 == 0:
            first.append(baseline())
            second.append(ours())
        else:
            second.append(ours())
            first.append(baseline())
        print(f"   run {run + 1}/{runs} done", file=sys.stderr, flush=True)
    return first, second


def load(
    target: Server,
    streams: list[dict[str, Any]],
    *,
    warmup: float,
    duration: float,
    cpu: int | None = LOADGEN_CPU,
) -> dict[str, dict[str, Any]]:
    """Run bench.loadgen in its own process against ``target``; results by stream name."""
    spec = {
        "host": HOST,
        "port": target.port,
        "warmup": warmup,
        "duration": duration,
        "streams": streams,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(spec, file)
    try:
        command = [sys.executable, "-m", "bench.loadgen", file.name]
        if cpu is not None and cpu in cpus():
            command += ["--cpu", str(cpu)]
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, check=False, timeout=warmup + duration + 120
        )
    finally:
        os.unlink(file.name)
    if done.returncode != 0:
        raise RuntimeError(
            f"loadgen failed against {target.name}:\n{done.stderr.decode()[-3000:]}\n"
            f"{target.name}'s log:\n{target.log.read_text()[-3000:]}"
        )
    results = {item["name"]: item for item in json.loads(done.stdout)["streams"]}
    for item in results.values():
        if item["errors"]:
            raise RuntimeError(
                f"{target.name}/{item['name']}: {item['errors']} failed requests, "
                f"first: {item['first_error']}"
            )
        if not item["requests"]:
            raise RuntimeError(f"{target.name}/{item['name']}: no request completed")
    return results


# --- report --------------------------------------------------------------------------------


@dataclass
class Row:
    """One goal: ``ratio`` = ours / baseline; ``at_least`` or ``at_most`` is the goal."""

    name: str
    unit: str
    baseline: list[float]
    ours: list[float]
    at_least: float | None = None
    at_most: float | None = None

    @property
    def baseline_median(self) -> float:
        return statistics.median(self.baseline)

    @property
    def ours_median(self) -> float:
        return statistics.median(self.ours)

    @property
    def ratio(self) -> float:
        # The median of per-run ratios: each run measured both sides back to back.
        return statistics.median(o / b for o, b in zip(self.ours, self.baseline, strict=True))

    @property
    def goal(self) -> str:
        if self.at_least is not None:
            return f">= {self.at_least:g}x"
        if self.at_most is not None:
            return f"<= {self.at_most:g}x"
        return "-"

    @property
    def met(self) -> bool | None:
        if self.at_least is not None:
            return self.ratio >= self.at_least
        if self.at_most is not None:
            return self.ratio <= self.at_most
        return None


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"


def event_loop_stack() -> str:
    import importlib.util

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"uvicorn loop={loop} http={http}"


def throughput_rows(
    name: str,
    p99_name: str,
    base: list[dict[str, Any]],
    mine: list[dict[str, Any]],
    *,
    at_least: float,
) -> list[Row]:
    """The two rows of a closed-loop comparison: throughput (the goal) and p99 latency."""
    return [
        Row(name, "req/s", [r["rps"] for r in base], [r["rps"] for r in mine], at_least=at_least),
        Row(p99_name, "ms", [r["p99_ms"] for r in base], [r["p99_ms"] for r in mine]),
    ]


def report(
    title: str,
    baseline_name: str,
    ours_name: str,
    rows: dict[str, list[Row]],
    json_out: str | None = None,
) -> None:
    print(f"\n== {title}")
    print(f"   baseline: {baseline_name}\n   ours:     {ours_name}")
    print(
        f"   {machine()}; {event_loop_stack()}; server on CPU {SERVER_CPU}, load on "
        f"CPU {LOADGEN_CPU}"
    )
    header = f"{'db':<9}{'metric':<26}{'baseline':>12}{'ours':>12}{'ratio':>8}  {'goal':<9}met"
    print(header)
    print("-" * len(header))
    for kind, items in rows.items():
        for row in items:
            met = {True: "yes", False: "NO", None: ""}[row.met]
            print(
                f"{kind:<9}{row.name + ' (' + row.unit + ')':<26}"
                f"{row.baseline_median:>12.1f}{row.ours_median:>12.1f}"
                f"{row.ratio:>7.2f}x  {row.goal:<9}{met}"
            )
    if json_out:
        Path(json_out).write_text(
            json.dumps(
                {
                    "title": title,
                    "machine": machine(),
                    "rows": {
                        kind: [
                            {
                                "name": r.name,
                                "unit": r.unit,
                                "baseline": r.baseline,
                                "ours": r.ours,
                                "ratio": r.ratio,
                                "goal": r.goal,
                                "met": r.met,
                            }
                            for r in items
                        ]
                        for kind, items in rows.items()
                    },
                },
                indent=2,
            )
        )
    sys.stdout.flush()
