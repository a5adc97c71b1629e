"""Issue 7.3: verifyTotp (code check, replay-guard write, session exchange, audit event)
against `me` on the same server. Goal: >= 0.5x of me's throughput.

Every verification needs its own pending session and a code for a step its authenticator has
not used: many enrolled users share one known secret, each verifies once, with the code of
the current 30 s step (the load generator computes it when it sends).

    python -m bench.verify_totp [--db sqlite|postgres|both] [--users N]
"""

from typing import Any

from bench import harness, seed
from bench.harness import Row
from bench.me import QUERY as ME_QUERY
from bench.me import me_requests

VERIFY = "mutation($code: String!) { verifyTotp(code: $code) { status token } }"


def seeder(count: int) -> Any:
    async def seed_verify() -> tuple[list[str], list[str]]:
        domain = await seed.make_domain("totp.bench.example", two_factor=True)
        readers = await seed.add_users(domain, "reader", 200, password_hash="x")
        me_tokens = await seed.add_sessions(readers)
        enrolled = await seed.add_users(
            domain, "enrolled", count, password_hash="x", two_factor_enabled=True
        )
        await seed.add_authenticators(enrolled)
        # Pending sessions (TOTP_REQUIRED) live 10 minutes: seeded right before the runs.
        return me_tokens, await seed.add_sessions(enrolled, pending=True)

    return seed_verify


def measure(kind: str, args: Any) -> list[Row]:
    with harness.bench_database(kind, "totp") as db:
        me_tokens, pending = harness.run_with_orm(db, seeder(args.users))
        share = len(pending) // args.runs
        slices = iter(pending[n * share : (n + 1) * share] for n in range(args.runs))
        with harness.portal_server(db) as ours:

            def me() -> dict[str, Any]:
                streams = [
                    harness.stream("me", me_requests(me_tokens, "/graphql"), args.connections)
                ]
                return harness.load(ours, streams, warmup=args.warmup, duration=args.duration)["me"]

            def verify() -> dict[str, Any]:
                code = "@CODE@"  # the load generator puts the current step's code here
                requests = [
                    harness.graphql_request(VERIFY, t, {"code": code}) for t in next(slices)
                ]
                streams = [
                    harness.stream(
                        "verify",
                        requests,
                        args.connections,
                        once=True,
                        totp_secret=seed.TOTP_SECRET,
                    )
                ]
                result = harness.load(ours, streams, warmup=args.warmup, duration=args.duration)[
                    "verify"
                ]
                if result["exhausted"]:
                    print(
                        "   (verify ran out of users before the clock: rate over the time "
                        "it ran; raise --users)",
                        flush=True,
                    )
                return result

            base, mine = harness.alternate(args.runs, me, verify)
    return [
        Row(
            "verifyTotp vs me",
            "req/s",
            [r["rps"] for r in base],
            [r["rps"] for r in mine],
            at_least=0.5,
        ),
        Row("verifyTotp vs me p99", "ms", [r["p99_ms"] for r in base], [r["p99_ms"] for r in mine]),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument(
        "--users",
        type=int,
        default=9000,
        help="enrolled users with a pending session (one verification each)",
    )
    args = parser.parse_known_args(argv)[0]  # run_all passes every option to every script
    rows = {kind: measure(kind, args) for kind in harness.backends(args.db)}
    harness.report(
        "7.3 verifyTotp (replay guard write) vs me, same server",
        f"me: {ME_QUERY}",
        "verifyTotp(code) with a fresh pending session per request",
        rows,
        args.json_out,
    )


if __name__ == "__main__":
    main()
