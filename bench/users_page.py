"""Issue 7.2: `users(first: 50)` with nested twoFactor and domain fields against a bare route
returning the same JSON from the same SQL. Goal: >= 0.35x throughput, and the same number of
SQL statements for pages of 10, 50 and 200 (tests/accounts/test_users_query.py checks it too).

    python -m bench.users_page [--db sqlite|postgres|both]
"""

import logging
from typing import Any

from bench import harness, seed
from bench.harness import Row

QUERY = """query($first: Int) { users(first: $first) {
  edges { cursor node { id email displayName roles domain { id name }
    twoFactor { state enabled enrolled enrolledAt recoveryCodesRemaining lockedUntil } } }
  pageInfo { hasNextPage endCursor } } }"""
MEMBERS = 1000
SESSIONS = 50


async def seed_users() -> list[str]:
    from gql_portal.accounts.models import Role

    domain = await seed.make_domain("users.bench.example", two_factor=True)
    admins = await seed.add_users(
        domain, "admin", 1, password_hash="x", roles=[Role.SECURITY_ADMIN, Role.USER]
    )
    members = await seed.add_users(
        domain, "member", MEMBERS, password_hash="x", two_factor_enabled=None
    )
    # Every other enabled user is enrolled, with recovery codes (3 of 10 used).
    await seed.add_authenticators(members[::4], with_recovery_codes=True)
    return await seed.add_sessions(admins * SESSIONS)


class StatementCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if (
            record.getMessage()
            .lstrip()
            .upper()
            .startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"))
        ):
            self.count += 1


async def statements_per_page(token: str) -> dict[int, int]:
    """SQL statements one users page costs, in process, for 10, 50 and 200 users."""
    import httpx

    from gql_portal.app import create_app

    app = create_app(manage_database=False)
    logger = logging.getLogger("tortoise.db_client")
    counts = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for size in (10, 50, 200):
            counter = StatementCounter()
            logger.setLevel(logging.DEBUG)
            logger.addHandler(counter)
            try:
                answer = await client.post(
                    "/graphql",
                    json={"query": QUERY, "variables": {"first": size}},
                    headers={"authorization": f"Bearer {token}"},
                )
            finally:
                logger.removeHandler(counter)
                logger.setLevel(logging.WARNING)
            assert len(answer.json()["data"]["users"]["edges"]) == size, answer.text
            counts[size] = counter.count
    return counts


def measure(kind: str, args: Any) -> tuple[list[Row], dict[int, int]]:
    from bench.me import same_answer

    with harness.bench_database(kind, "users") as db:
        tokens = harness.run_with_orm(db, seed_users)
        counts = harness.run_with_orm(db, lambda: statements_per_page(tokens[-1]))
        with harness.portal_server(db) as ours, harness.bench_server(db, "bare") as bare:
            same_answer(ours, bare, QUERY, tokens[0], "/users", {"first": 50})

            def run(target: harness.Server, path: str) -> dict[str, Any]:
                requests = [
                    harness.graphql_request(QUERY, t, {"first": 50}, path=path) for t in tokens
                ]
                streams = [harness.stream("users", requests, args.connections)]
                return harness.load(target, streams, warmup=args.warmup, duration=args.duration)[
                    "users"
                ]

            base, mine = harness.alternate(
                args.runs, lambda: run(bare, "/users"), lambda: run(ours, "/graphql")
            )
    rows = harness.throughput_rows(
        "users(50) throughput", "users(50) p99", base, mine, at_least=0.35
    )
    return rows, counts


def main(argv: list[str] | None = None) -> None:
    args = harness.parser(__doc__).parse_known_args(argv)[0]
    rows = {}
    counts = {}
    for kind in harness.backends(args.db):
        rows[kind], counts[kind] = measure(kind, args)
    harness.report(
        "7.2 users(first: 50) with twoFactor and domain: full stack vs bare route",
        "bare Starlette route, same SQL statements, same JSON",
        "POST /graphql users(first: 50) {... domain twoFactor ...} via gql-portal serve",
        rows,
        args.json_out,
    )
    for kind, per_size in counts.items():
        fixed = len(set(per_size.values())) == 1
        sizes = ", ".join(f"{size} users: {n}" for size, n in per_size.items())
        print(
            f"{kind:<9}SQL statements per page: {sizes} -> "
            f"{'fixed (goal met)' if fixed else 'GROWS WITH THE PAGE (goal missed)'}"
        )


if __name__ == "__main__":
    main()
