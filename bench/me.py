"""Issue 7.1: the `me` query through the whole stack (uvicorn, middleware, GraphQL) against a
bare Starlette route doing the same database read and JSON answer. Goal: >= 0.5x throughput.

    python -m bench.me [--db sqlite|postgres|both]
"""

from typing import Any

from bench import harness, seed
from bench.harness import Row

QUERY = "{ me { id email displayName roles } }"
SESSIONS = 200


async def seed_me() -> list[str]:
    domain = await seed.make_domain("me.bench.example", two_factor=True)
    users = await seed.add_users(domain, "member", SESSIONS, password_hash="x")
    return await seed.add_sessions(users)


def me_requests(tokens: list[str], path: str) -> list[dict[str, Any]]:
    return [harness.graphql_request(QUERY, token, path=path) for token in tokens]


def same_answer(
    ours: harness.Server,
    bare: harness.Server,
    query: str,
    token: str,
    bare_path: str,
    variables: dict[str, Any] | None = None,
) -> None:
    body = {"query": query} | ({"variables": variables} if variables else {})
    mine = harness.post(ours, body, token)
    theirs = harness.post_path(bare, bare_path, body, token)
    if mine != theirs:
        raise RuntimeError(f"the baseline answers differently:\n{mine}\n{theirs}")


def measure(kind: str, args: Any) -> list[Row]:
    with harness.bench_database(kind, "me") as db:
        tokens = harness.run_with_orm(db, seed_me)
        with harness.portal_server(db) as ours, harness.bench_server(db, "bare") as bare:
            same_answer(ours, bare, QUERY, tokens[0], "/me")

            def run(target: harness.Server, path: str) -> dict[str, Any]:
                streams = [harness.stream("me", me_requests(tokens, path), args.connections)]
                return harness.load(target, streams, warmup=args.warmup, duration=args.duration)[
                    "me"
                ]

            base, mine = harness.alternate(
                args.runs, lambda: run(bare, "/me"), lambda: run(ours, "/graphql")
            )
    return harness.throughput_rows("me throughput", "me p99", base, mine, at_least=0.5)


def main(argv: list[str] | None = None) -> None:
    args = harness.parser(__doc__).parse_known_args(argv)[0]
    rows = {kind: measure(kind, args) for kind in harness.backends(args.db)}
    harness.report(
        "7.1 me: full stack vs bare Starlette route",
        "bare Starlette route, same SQL, same JSON",
        "POST /graphql { me { id email displayName roles } } via gql-portal serve",
        rows,
        args.json_out,
    )


if __name__ == "__main__":
    main()
