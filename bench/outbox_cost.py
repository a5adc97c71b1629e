"""What the outbox adds to a bulk enablement job: 100,000 users with their 100,000 messages
written set-based in the chunks' transactions, against the same job with the messages' INSERT
left out, on the same database in the same run.

    python -m bench.outbox_cost --db both --users 100000

Both jobs run through the in-process runner (the path of ``make run``; the arq worker runs
the same chunks). "Without messages" replaces the chunk's one call that writes them with a
no-op in this process only: no setting or flag of the product turns messages off. Prints
both times and the ratio; the goal is within 1.5x.
"""

import sys
from typing import Any

from bench.bulk_enable import timed_enablement
from bench.harness import backends, bench_database, parser, run_with_orm
from bench.seed import add_users, make_domain


async def _job(domain_id: int) -> float:
    return await timed_enablement(domain_id, None)


async def _without_messages(domain_id: int) -> float:
    from gql_portal.bulk import chunk

    async def nothing(*args: Any, **kwargs: Any) -> int:
        return 0

    real = chunk.notices.two_factor_enabled_for_users
    chunk.notices.two_factor_enabled_for_users = nothing  # type: ignore[assignment]
    try:
        return await _job(domain_id)
    finally:
        chunk.notices.two_factor_enabled_for_users = real  # type: ignore[assignment]


async def _messages(domain_id: int) -> int:
    from gql_portal.notifications.models import Notification

    return await Notification.filter(domain_id=domain_id).count()


def run(kind: str, users: int) -> dict[str, Any]:
    with bench_database(kind, "outbox") as db:

        async def seed() -> tuple[int, int]:
            from bench.seed import default_cost_hash

            hashed = await default_cost_hash()
            bare = await make_domain("outbox-off.example")
            mailed = await make_domain("outbox-on.example")
            await add_users(bare, "user", users, password_hash=hashed)
            await add_users(mailed, "user", users, password_hash=hashed)
            return bare.id, mailed.id

        bare, mailed = run_with_orm(db, seed)
        without = run_with_orm(db, lambda: _without_messages(bare))
        with_messages = run_with_orm(db, lambda: _job(mailed))
        written = run_with_orm(db, lambda: _messages(mailed))
        assert written == users, f"{written} messages for {users} users"
        assert run_with_orm(db, lambda: _messages(bare)) == 0
        return {
            "db": kind,
            "users": users,
            "messages": written,
            "with_seconds": round(with_messages, 3),
            "without_seconds": round(without, 3),
            "ratio": round(with_messages / without, 2),
        }


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__)
    args.add_argument("--users", type=int, default=100_000)
    options = args.parse_args(argv)
    for kind in backends(options.db):
        result = run(kind, options.users)
        print(
            f"outbox_cost {result['db']:8} {result['users']:,} users: job with "
            f"{result['messages']:,} messages {result['with_seconds']:.2f}s, without "
            f"{result['without_seconds']:.2f}s, ratio {result['ratio']:.2f}x (goal <= 1.5x)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
