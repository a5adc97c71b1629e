"""User import: a 100,000-row CSV through importUsers' job (parsed, stored, applied by the
worker: arq + ``gql-portal worker``), against the same users and USER_CREATED events
inserted by raw set-based SQL, on the same database in the same run.

    python -m bench.import_users --db both --rows 100000 [--redis redis://127.0.0.1:6379/11]

Without a Redis that answers, the job runs through the in-process runner instead. Prints
both times and the ratio; the goal is within 3x.
"""

import asyncio
import json
import subprocess
import sys
import time
import uuid
from typing import Any

from bench.bulk_enable import DEFAULT_REDIS, _redis_answers
from bench.harness import ROOT, backends, bench_database, parser, run_with_orm
from bench.seed import make_domain

BATCH = 10_000


def _csv(domain: str, rows: int) -> str:
    return "email,display_name,roles\n" + "".join(
        f"user-{number:06d}@{domain},Person {number},USER\n" for number in range(rows)
    )


async def _raw_set_based(domain_id: int, domain: str, rows: int) -> float:
    """The floor: the rows as JSON, one INSERT per 10,000 users and one INSERT ... SELECT
    of their events, in one transaction (no parsing, no checks, no per-row outcome)."""
    from tortoise.transactions import in_transaction

    from gql_portal.clock import utcnow
    from gql_portal.sql import execute, is_postgres, json_records

    columns = (("email", "text"), ("email_normalized", "text"), ("display_name", "text"))
    now = utcnow()
    job_id = uuid.uuid4()
    started = time.perf_counter()
    async with in_transaction() as connection:
        for start in range(0, rows, BATCH):
            batch = [
                {
                    "email": f"user-{number:06d}@{domain}",
                    "email_normalized": f"user-{number:06d}@{domain}",
                    "display_name": f"Person {number}",
                }
                for number in range(start, min(rows, start + BATCH))
            ]
            await execute(
                connection,
                "INSERT INTO users (domain_id, email, email_normalized, display_name, roles, "
                "password_hash, created_at, active, two_factor_enabled, code_failures) "
                "SELECT ?, r.email, r.email_normalized, r.display_name, ',USER,', '', ?, ?, ?, 0 "
                f"FROM {json_records(connection, columns)}",
                [domain_id, now, True, False, json.dumps(batch)],
            )
        postgres = is_postgres(connection)
        details = "CAST(? AS JSONB)" if postgres else "?"
        await execute(
            connection,
            "INSERT INTO audit_events (domain_id, occurred_at, action, outcome, target_id, "
            f"target_email, job_id, details) SELECT domain_id, ?, 'USER_CREATED', 'SUCCESS', "
            f"id, email, ?, {details} FROM users WHERE domain_id = ?",
            [now, job_id if postgres else str(job_id), '{"via":"import"}', domain_id],
        )
    return time.perf_counter() - started


async def _through_runner(domain_id: int, csv: str, redis_url: str | None) -> float:
    from gql_portal.bulk.dispatch import InProcessDispatcher, JobDispatcher, QueueDispatcher
    from gql_portal.bulk.imports import start_import
    from gql_portal.bulk.models import BulkJob
    from gql_portal.request_meta import SYSTEM

    dispatcher: JobDispatcher = QueueDispatcher(redis_url) if redis_url else InProcessDispatcher()
    started = time.perf_counter()
    job = await start_import(
        actor=None,
        domain_id=domain_id,
        csv_text=csv,
        dry_run=False,
        enable_two_factor=False,
        meta=SYSTEM,
        dispatcher=dispatcher,
    )
    while not job.is_final:
        await asyncio.sleep(0.02)
        job = await BulkJob.get(id=job.id)
    took = time.perf_counter() - started
    await dispatcher.close()
    assert job.status == "SUCCEEDED" and job.created == job.total, (job.status, job.error)
    return took


def run(kind: str, rows: int, redis_url: str | None) -> dict[str, Any]:
    with bench_database(kind, "import") as db:

        async def seed() -> tuple[int, int]:
            job_domain = await make_domain("import-job.example")
            raw_domain = await make_domain("import-raw.example")
            return job_domain.id, raw_domain.id

        job_domain, raw_domain = run_with_orm(db, seed)
        csv = _csv("import-job.example", rows)
        if redis_url is not None and not asyncio.run(_redis_answers(redis_url)):
            redis_url = None
        worker = None
        if redis_url is not None:
            env = {**db.env, "GQL_PORTAL_REDIS_URL": redis_url}
            worker = subprocess.Popen(
                [sys.executable, "-m", "gql_portal.cli", "worker"],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(2)  # worker start-up is not part of the job
        try:
            through = run_with_orm(db, lambda: _through_runner(job_domain, csv, redis_url))
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=30)
        raw = run_with_orm(db, lambda: _raw_set_based(raw_domain, "import-raw.example", rows))
        return {
            "db": kind,
            "rows": rows,
            "path": "arq worker" if redis_url else "in-process runner",
            "job_seconds": round(through, 3),
            "raw_seconds": round(raw, 3),
            "ratio": round(through / raw, 2),
        }


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__)
    args.add_argument("--rows", type=int, default=100_000)
    args.add_argument("--redis", default=DEFAULT_REDIS, help="'' for the in-process runner")
    options = args.parse_args(argv)
    for kind in backends(options.db):
        result = run(kind, options.rows, options.redis or None)
        print(
            f"import_users {result['db']:8} {result['rows']:,} rows via {result['path']}: "
            f"job {result['job_seconds']:.2f}s, raw set-based SQL {result['raw_seconds']:.2f}s, "
            f"ratio {result['ratio']:.2f}x (goal <= 3x)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
