"""Bulk 2FA enablement: 100,000 users through the worker (arq + ``gql-portal worker``), against
the same work as two raw set-based statements, on the same database in the same run.

    python -m bench.bulk_enable --db both --users 100000 [--redis redis://127.0.0.1:6379/11]

Without a Redis that answers, the job runs through the in-process runner instead (as with
``make run``). Prints both times and the ratio; the goal is within 2x.
"""

import sys
import time
import uuid
from typing import Any

from bench.harness import (
    DEFAULT_REDIS,
    backends,
    bench_database,
    bench_worker,
    parser,
    run_with_orm,
    timed_job,
    usable_redis,
)
from bench.seed import add_users, make_domain


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


async def timed_enablement(domain_id: int, redis_url: str | None) -> float:
    """Seconds for a bulk enablement of the whole domain (arq, or in process for None)."""
    from gql_portal.bulk.selection import UserSelection
    from gql_portal.bulk.services import start_job
    from gql_portal.request_meta import SYSTEM

    def start(dispatcher: Any) -> Any:
        return start_job(
            actor=None,
            domain_id=domain_id,
            selection=UserSelection(),
            dry_run=False,
            meta=SYSTEM,
            dispatcher=dispatcher,
        )

    return float((await timed_job(start, redis_url))[0])


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
        redis_url = usable_redis(redis_url)
        with bench_worker(db, redis_url):
            through = run_with_orm(db, lambda: timed_enablement(job_domain, redis_url))
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
