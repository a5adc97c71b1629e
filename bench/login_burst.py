"""Issue 7.4: `me` latency while logins hash passwords (argon2id at the configured default
cost). Goal: p99 of `me` during the burst <= 2x its idle p99 (hashing is off the event loop,
in a bounded pool).

`me` is paced (below saturation, so p99 is service time, not queueing); the burst is
closed-loop logins on their own connections. The server is not pinned here: its hashing
threads are meant to use the core the event loop does not.

    python -m bench.login_burst [--db sqlite|postgres|both]
"""

from typing import Any

from bench import harness, seed
from bench.harness import Row
from bench.me import me_requests

LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { status token } }"
LOGIN_USERS = 200


async def seed_burst() -> tuple[list[str], list[str]]:
    domain = await seed.make_domain("login.bench.example", two_factor=False)
    readers = await seed.add_users(domain, "reader", 200, password_hash="x")
    hashed = await seed.default_cost_hash()
    logins = await seed.add_users(domain, "login", LOGIN_USERS, password_hash=hashed)
    return await seed.add_sessions(readers), [user.email for user in logins]


def measure(kind: str, args: Any) -> tuple[list[Row], list[float]]:
    with harness.bench_database(kind, "login") as db:
        tokens, emails = harness.run_with_orm(db, seed_burst)
        me_stream = harness.stream("me", me_requests(tokens, "/graphql"), 4, rate=args.rate)
        logins = [
            harness.graphql_request(LOGIN, None, {"e": e, "p": seed.PASSWORD}) for e in emails
        ]
        with harness.portal_server(db, cpu=None) as ours:

            def idle() -> dict[str, Any]:
                return harness.load(ours, [me_stream], warmup=args.warmup, duration=args.duration)

            def burst() -> dict[str, Any]:
                streams = [me_stream, harness.stream("login", logins, args.logins)]
                return harness.load(ours, streams, warmup=args.warmup, duration=args.duration)

            base, mine = harness.alternate(args.runs, idle, burst)
    rows = [
        Row(
            "me p99, logins vs idle",
            "ms",
            [r["me"]["p99_ms"] for r in base],
            [r["me"]["p99_ms"] for r in mine],
            at_most=2.0,
        ),
        Row(
            "me p50, logins vs idle",
            "ms",
            [r["me"]["p50_ms"] for r in base],
            [r["me"]["p50_ms"] for r in mine],
        ),
    ]
    return rows, [r["login"]["rps"] for r in mine]


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--rate", type=float, default=150, help="paced me requests/s")
    parser.add_argument("--logins", type=int, default=16, help="concurrent login connections")
    parser.set_defaults(duration=8.0)
    args = parser.parse_known_args(argv)[0]  # run_all passes every option to every script
    rows = {}
    rates = {}
    for kind in harness.backends(args.db):
        rows[kind], rates[kind] = measure(kind, args)
    harness.report(
        "7.4 me latency during a login burst (argon2id, default cost)",
        f"me at {args.rate:g} req/s, no logins",
        f"me at {args.rate:g} req/s + {args.logins} connections logging in back to back",
        rows,
        args.json_out,
    )
    for kind, values in rates.items():
        print(f"{kind:<9}logins during the burst: {', '.join(f'{v:.1f}' for v in values)}/s")


if __name__ == "__main__":
    main()
