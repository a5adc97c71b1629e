"""Issue 7.7: what the middleware stack costs: `me` through create_app() against the same app
built with create_app(middleware=False). Goal: >= 0.9x throughput.

    python -m bench.middleware [--db sqlite|postgres|both]
"""

from typing import Any

from bench import harness
from bench.harness import Row
from bench.me import QUERY, me_requests, seed_me


def measure(kind: str, args: Any) -> list[Row]:
    with harness.bench_database(kind, "mw") as db:
        tokens = harness.run_with_orm(db, seed_me)
        with (
            harness.bench_server(db, "portal") as full,
            harness.bench_server(db, "portal-no-middleware") as bare,
        ):

            def run(target: harness.Server) -> dict[str, Any]:
                streams = [harness.stream("me", me_requests(tokens, "/graphql"), args.connections)]
                return harness.load(target, streams, warmup=args.warmup, duration=args.duration)[
                    "me"
                ]

            base, mine = harness.alternate(args.runs, lambda: run(bare), lambda: run(full))
    return harness.throughput_rows(
        "me, middleware on/off", "me p99, middleware on/off", base, mine, at_least=0.9
    )


def main(argv: list[str] | None = None) -> None:
    args = harness.parser(__doc__).parse_known_args(argv)[0]
    rows = {kind: measure(kind, args) for kind in harness.backends(args.db)}
    harness.report(
        "7.7 the middleware stack: me with and without it",
        "create_app(middleware=False)",
        f"create_app() (metrics, request id, security headers, body limit); {QUERY}",
        rows,
        args.json_out,
    )


if __name__ == "__main__":
    main()
