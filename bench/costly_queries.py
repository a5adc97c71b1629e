"""Issue 11.2: `me` latency while an AUDITOR sends the costliest queries, before and after.

"Before" is the portal at the commit given by ``--before`` (default: the commit this branch
started from), exported with ``git archive`` into a temporary folder and served from there;
"after" is this tree. Both serve the same database: 5,000 users and 5,000 audit events
between them (the issue's sizes). While `me` is paced (loadgen, as in 7.4), attacker threads
send one shape back to back on their own connections:

- ``stats x5``: five aliased ``users(first: 500)`` pages each asking its domain's
  ``twoFactorStats`` per node (cost 10,005: refused after);
- ``audit x30``: thirty aliased ``auditEvents(first: 500)`` with ``actor`` and ``target``
  (cost 60,030: refused after);
- ``largest allowed``: the largest pages the default limit lets through (a users page of
  500 with twoFactor and domain stats, an audit page of 500 with actor and target in full).

    python -m bench.costly_queries [--db sqlite|postgres|both] [--before COMMIT]
"""

import contextlib
import dataclasses
import json
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import harness, seed
from bench.harness import Row

BEFORE = "5119934"
ME = "query { me { id email twoFactor { state } } }"
USERS = 5000
EVENTS = 5000
USER = (
    "id email displayName roles createdAt lastLoginAt domain { id name }"
    " twoFactor { state enabled enrolled recoveryCodesRemaining lockedUntil }"
)
STATS_PAGE = (
    "users(first: 500) { edges { node { id domain { twoFactorStats"
    " { users enabled enrolled pendingEnrollment lockedOut } } } } }"
)
AUDIT_PAGE = (
    "auditEvents(first: 500) { edges { node { id action"
    " actor { id email } target { id email } } } }"
)
SHAPES = {
    "stats x5": "query { " + " ".join(f"a{i}: {STATS_PAGE}" for i in range(5)) + " }",
    "audit x30": "query { " + " ".join(f"a{i}: {AUDIT_PAGE}" for i in range(30)) + " }",
    "largest allowed": (
        "query { users(first: 500) { edges { node { USER domain { twoFactorStats { users } } } } }"
        " auditEvents(first: 500) { edges { node { id action actor { USER } target { USER } } } }"
        " }"
    ).replace("USER", USER),
}


async def seed_costly() -> tuple[list[str], str]:
    from gql_portal.accounts.models import Role
    from gql_portal.audit.models import AuditEvent
    from gql_portal.clock import utcnow

    domain = await seed.make_domain("cost.bench.example")
    users = await seed.add_users(domain, "user", USERS, password_hash="x", two_factor_enabled=None)
    auditors = await seed.add_users(domain, "auditor", 1, password_hash="x", roles=[Role.AUDITOR])
    start = utcnow() - timedelta(hours=2)
    await AuditEvent.bulk_create(
        [
            AuditEvent(
                domain_id=domain.id,
                occurred_at=start + timedelta(seconds=n),
                action="USER_TWO_FACTOR_ENABLED",
                outcome="SUCCESS",
                actor_id=users[n % USERS].id,
                target_id=users[(n * 7 + 3) % USERS].id,
                actor_email=users[n % USERS].email,
                target_email=users[(n * 7 + 3) % USERS].email,
            )
            for n in range(EVENTS)
        ],
        batch_size=seed.BATCH,
    )
    readers = await seed.add_users(domain, "reader", 50, password_hash="x")
    tokens = await seed.add_sessions(readers)
    (auditor_token,) = await seed.add_sessions(auditors)
    return tokens, auditor_token


@contextlib.contextmanager
def before_tree(commit: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="gql_portal_before_") as folder:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit], cwd=harness.ROOT, capture_output=True
        )
        if archive.returncode:
            raise SystemExit(f"git archive {commit}: {archive.stderr.decode().strip()}")
        archive_path = Path(folder) / "tree.tar"
        archive_path.write_bytes(archive.stdout)
        with tarfile.open(archive_path) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder)


def before_server(db: harness.BenchDatabase, tree: Path) -> Any:
    """The old code with this venv's packages: its tree comes first on the path."""
    old = dataclasses.replace(db, env={**db.env, "PYTHONPATH": str(tree)})
    start = (
        f"import sys; sys.path.insert(0, {str(tree)!r}); from gql_portal.cli import main;"
        " sys.exit(main(sys.argv[1:]))"
    )
    return harness.server(old, "before", [sys.executable, "-c", start, "serve"])


class Attacker:
    """Threads sending one document back to back; refusals are answers too, not failures."""

    def __init__(self, target: harness.Server, document: str, token: str, threads: int) -> None:
        self.body = json.dumps({"query": document}).encode()
        self.target = target
        self.token = token
        self.stop = threading.Event()
        self.durations: list[float] = []
        self.answers: dict[str, int] = {}
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def run(self) -> None:
        while not self.stop.is_set():
            request = urllib.request.Request(
                self.target.url("/graphql"),
                data=self.body,
                headers={
                    "content-type": "application/json",
                    "authorization": f"Bearer {self.token}",
                },
            )
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    answer = json.loads(response.read())
            except (urllib.error.URLError, TimeoutError) as error:
                answer = {"errors": [{"extensions": {"code": type(error).__name__}}]}
            self.durations.append(time.perf_counter() - started)
            code = (answer.get("errors") or [{}])[0].get("extensions", {}).get("code", "OK")
            self.answers[code] = self.answers.get(code, 0) + 1

    def __enter__(self) -> "Attacker":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self.threads:  # no attack request left running into the next shape
            thread.join(timeout=180)


class MeProbe:
    """Paced `me` requests on their own threads and connections, each timed to its answer
    however long it takes (a stalled loop shows as long latencies, not as no data)."""

    def __init__(self, target: harness.Server, tokens: list[str], rate: float, threads: int):
        self.target = target
        self.tokens = tokens
        self.interval = threads / rate
        self.stop = threading.Event()
        self.latencies: list[float] = []
        self.failures = 0
        self.threads = [
            threading.Thread(target=self.run, args=(n,), daemon=True) for n in range(threads)
        ]

    def run(self, number: int) -> None:
        body = json.dumps({"query": ME}).encode()
        next_send = time.perf_counter() + number * self.interval / len(self.threads)
        sent_count = 0
        while not self.stop.is_set():
            pause = next_send - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            token = self.tokens[(number + sent_count * len(self.threads)) % len(self.tokens)]
            sent_count += 1
            request = urllib.request.Request(
                self.target.url("/graphql"),
                data=body,
                headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
            )
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    ok = response.status == 200 and b'"errors"' not in response.read()
            except (urllib.error.URLError, TimeoutError):
                ok = False
            self.latencies.append(time.perf_counter() - started)
            self.failures += not ok
            next_send = max(next_send + self.interval, time.perf_counter() - self.interval)

    def measure(self, seconds: float) -> dict[str, float]:
        for thread in self.threads:
            thread.start()
        time.sleep(seconds)
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=180)
        ordered = sorted(self.latencies) or [float("nan")]
        return {
            "p50_ms": ordered[len(ordered) // 2] * 1000,
            "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
            "max_ms": ordered[-1] * 1000,
            "requests": len(self.latencies),
            "failures": self.failures,
        }


def during(
    target: harness.Server, tokens: list[str], shape: str, token: str, args: Any
) -> tuple[dict[str, float], float, dict[str, int]]:
    probe = MeProbe(target, tokens, args.rate, 4)
    if shape == "idle":
        return probe.measure(args.duration), float("nan"), {}
    with Attacker(target, SHAPES[shape], token, args.attackers) as attacker:
        time.sleep(0.5)  # the first attack requests are in flight
        me = probe.measure(args.duration)
    durations = sorted(attacker.durations) or [float("nan")]
    return me, durations[len(durations) // 2], dict(attacker.answers)


def measure(kind: str, args: Any) -> list[Row]:
    rows: list[Row] = []
    with harness.bench_database(kind, "cost") as db, before_tree(args.before) as tree:
        tokens, auditor = harness.run_with_orm(db, seed_costly)
        results: dict[str, dict[str, Any]] = {"before": {}, "after": {}}
        for side in ("before", "after"):
            server = before_server(db, tree) if side == "before" else harness.portal_server(db)
            with server as target:
                for shape in ("idle", *SHAPES):
                    found = during(target, tokens, shape, auditor, args)
                    results[side][shape] = found
                    print(
                        f"   {kind} {side} {shape}: me {found[0]}, attack {found[2]}",
                        file=sys.stderr,
                        flush=True,
                    )
        for name in ("idle", *SHAPES):
            before, after = results["before"][name], results["after"][name]
            for stat in ("p99_ms", "max_ms"):
                rows.append(
                    Row(f"me {stat[:-3]}, {name}", "ms", [before[0][stat]], [after[0][stat]])
                )
            if name != "idle":
                rows.append(Row(f"  {name}: one attack request", "s", [before[1]], [after[1]]))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--before", default=BEFORE, help="the commit measured as before")
    parser.add_argument("--rate", type=float, default=50, help="paced me requests/s")
    parser.add_argument("--attackers", type=int, default=2, help="attacking connections")
    parser.set_defaults(duration=10.0, runs=1)
    args = parser.parse_known_args(argv)[0]
    rows = {kind: measure(kind, args) for kind in harness.backends(args.db)}
    harness.report(
        "11.2 me latency while an AUDITOR sends the costliest queries",
        f"before ({args.before}: no cost limit, stats per node, actors one by one)",
        "after (this tree: cost limit, per-request values, batched actors)",
        rows,
        args.json_out,
    )


if __name__ == "__main__":
    main()
