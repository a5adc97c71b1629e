"""Bulk 2FA enablement: 100,000 users through the worker (arq + ``gql-portal worker``), against
the same work as two raw set-based statements, on the same database in the same run.

    python -m bench.bulk_enable --db both --users 100000 [--redis redis://127.0.0.1:6379/11]

Without a Redis that answers, the job runs through the in-process runner instead (as with
``make run``). Prints both times and the ratio; the goal is within 2x.
"""

import asyncio
import subprocess
import sys
import time
import uuid
from typing import Any

from bench.harness import ROOT, backends, bench_database, parser, run_with_orm
from bench.seed import add_users, make_domain

DEFAULT_REDIS = "redis://127.0.0.1:6379/11"


async def _redis_answers(url: str) -> bool:
    from redis.asyncio import Redis

    redis = Redis.from_url(url, socket_connect_timeout=1)
    try:
        await redis.flushdb()
        return True
    except Exception:
        return False
    finally:
        await redis.aclose()


async def _raw_set_based(domain_id: int) -> float:
    """The floor: one UPDATE and one INSERT ... SELECT for every user of the domain."""
    from tortoise.transactions import in_transaction

    from gql_portal.clock import utcnow
    from gql_portal.sql import execute

    now = utcnow()
    job_id = uuid.uuid4()
    started = time.perf_counter()
    async with in_transaction() as connection:
        postgres = connection.capabilities.dialect == "postgres"
        await execute(
            connection,
            "UPDATE users SET two_factor_enabled = ?, two_factor_enabled_at = ?, "
            "enrollment_deadline = NULL WHERE domain_id = ? AND two_factor_enabled = ?",
            [True, now, domain_id, False],
        )
        details = "CAST(? AS JSONB)" if postgres else "?"
        await execute(
            connection,
            "INSERT INTO audit_events (domain_id, occurred_at, action, outcome, target_id, "
            "target_email, job_id, details) SELECT domain_id, ?, 'USER_TWO_FACTOR_ENABLED', "
            f"'SUCCESS', id, email, ?, {details} FROM users "
            "WHERE domain_id = ? AND two_factor_enabled_at = ?",
            [
                now,
                job_id if postgres else str(job_id),
                '{"enrollmentDeadline":null}',
                domain_id,
                now,
            ],
        )
    return time.perf_counter() - started


async def _through_runner(domain_id: int, redis_url: str | None) -> float:
    from gql_portal.bulk.dispatch import InProcessDispatcher, JobDispatcher, QueueDispatcher
    from gql_portal.bulk.models import BulkJob
    from gql_portal.bulk.selection import UserSelection
    from gql_portal.bulk.services import start_job
    from gql_portal.request_meta import SYSTEM

    dispatcher: JobDispatcher = QueueDispatcher(redis_url) if redis_url else InProcessDispatcher()
    started = time.perf_counter()
    job = await start_job(
        actor=None,
        domain_id=domain_id,
        selection=UserSelection(),
        dry_run=False,
        meta=SYSTEM,
        dispatcher=dispatcher,
    )
    while not job.is_final:
        await asyncio.sleep(0.02)
        job = await BulkJob.get(id=job.id)
    took = time.perf_counter() - started
    await dispatcher.close()
    assert job.status == "SUCCEEDED", job.error
    return took


def run(kind: str, users: int, redis_url: str | None) -> dict[str, Any]:
    with bench_database(kind, "bulk") as db:

        async def seed() -> tuple[int, int]:
            from bench.seed import default_cost_hash

            hashed = await default_cost_hash()
            job_domain = await make_domain("bulk-job.example")
            raw_domain = await make_domain("bulk-raw.example")
            await add_users(job_domain, "user", users, password_hash=hashed)
            await add_users(raw_domain, "user", users, password_hash=hashed)
            return job_domain.id, raw_domain.id

        job_domain, raw_domain = run_with_orm(db, seed)
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
            through = run_with_orm(db, lambda: _through_runner(job_domain, redis_url))
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=30)
        raw = run_with_orm(db, lambda: _raw_set_based(raw_domain))
        return {
            "db": kind,
            "users": users,
            "path": "arq worker" if redis_url else "in-process runner",
            "job_seconds": round(through, 3),
            "raw_seconds": round(raw, 3),
            "ratio": round(through / raw, 2),
        }


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__)
    args.add_argument("--users", type=int, default=100_000)
    args.add_argument("--redis", default=DEFAULT_REDIS, help="'' for the in-process runner")
    options = args.parse_args(argv)
    for kind in backends(options.db):
        result = run(kind, options.users, options.redis or None)
        print(
            f"bulk_enable {result['db']:8} {result['users']:,} users via {result['path']}: "
            f"job {result['job_seconds']:.2f}s, raw set-based SQL {result['raw_seconds']:.2f}s, "
            f"ratio {result['ratio']:.2f}x (goal <= 2x)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
