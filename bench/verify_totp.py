"""Issue 7.3: verifyTotp (code check, replay-guard write, session exchange, audit event)
against `me` on the same server. Goal: >= 0.5x of me's throughput.

Every verification needs its own pending session and a code for a step its authenticator has
not used: many enrolled users share one known secret, each verifies once, with the code of
the current 30 s step (the load generator computes it when it sends).

    python -m bench.verify_totp [--db sqlite|postgres|both] [--users N]
"""

import sys
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
        # Each run verifies on both servers: 2 x runs slices of fresh pending sessions.
        share = len(pending) // (2 * args.runs)
        slices = iter(pending[n * share : (n + 1) * share] for n in range(2 * args.runs))
        # One server at a time: on SQLite both would write the same file, and the portal's
        # audit sealing (in process without Redis) would stall the bare route's writes.

        def me(target: harness.Server, path: str) -> dict[str, Any]:
            streams = [harness.stream("me", me_requests(me_tokens, path), args.connections)]
            return harness.load(target, streams, warmup=args.warmup, duration=args.duration)["me"]

        def verify(target: harness.Server, path: str) -> dict[str, Any]:
            code = "@CODE@"  # the load generator puts the current step's code here
            requests = [
                harness.graphql_request(VERIFY, t, {"code": code}, path=path) for t in next(slices)
            ]
            streams = [
                harness.stream(
                    "verify", requests, args.connections, once=True, totp_secret=seed.TOTP_SECRET
                )
            ]
            result = harness.load(target, streams, warmup=args.warmup, duration=args.duration)[
                "verify"
            ]
            if result["exhausted"]:
                print(
                    "   (verify ran out of users before the clock: rate over the time "
                    "it ran; raise --users)",
                    flush=True,
                )
            return result

        def portal() -> tuple[dict[str, Any], dict[str, Any]]:
            with harness.portal_server(db) as ours:
                return me(ours, "/graphql"), verify(ours, "/graphql")

        def bare() -> tuple[dict[str, Any], dict[str, Any]]:
            with harness.bench_server(db, "bare") as server:
                return me(server, "/me"), verify(server, "/verify")

        results: dict[str, list[dict[str, Any]]] = {}
        for run in range(args.runs):
            sides = [("", portal), ("bare ", bare)]
            for prefix, side in sides if run % 2 == 0 else reversed(sides):
                me_result, verify_result = side()
                results.setdefault(prefix + "me", []).append(me_result)
                results.setdefault(prefix + "verify", []).append(verify_result)
            print(f"   run {run + 1}/{args.runs} done", file=sys.stderr, flush=True)
    rps = {name: [r["rps"] for r in runs] for name, runs in results.items()}
    return [
        *harness.throughput_rows(
            "verifyTotp vs me",
            "verifyTotp vs me p99",
            results["me"],
            results["verify"],
            at_least=0.5,
        ),
        # The floor: the same statements by hand, verify against me, no GraphQL at all.
        Row("control: bare verify vs bare me", "req/s", rps["bare me"], rps["bare verify"]),
        Row("verifyTotp vs bare verify", "req/s", rps["bare verify"], rps["verify"]),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument(
        "--users",
        type=int,
        default=48000,
        help="enrolled users with a pending session (one verification each)",
    )
    args = parser.parse_known_args(argv)[0]  # run_all passes every option to every script
    rows = {kind: measure(kind, args) for kind in harness.backends(args.db)}
    harness.report(
        "7.3 verifyTotp (replay guard write) vs me, same server",
        f"me: {ME_QUERY}",
        "verifyTotp(code) with a fresh pending session per request; control: the same"
        " statements in a bare route (/verify) against the bare /me",
        rows,
        args.json_out,
    )


if __name__ == "__main__":
    main()
