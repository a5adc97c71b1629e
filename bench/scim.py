"""Issue 14.6: SCIM through `gql-portal serve`.

1. `GET /scim/v2/Users?filter=userName eq "..."` (a different user each request) against
   `me` on the same server: goal >= 0.5x throughput.
2. Listing 100,000 users with a filter (`active eq true`), pages of 1,000: the first page,
   the last page (startIndex 99,001: OFFSET over the (domain_id, active, id) index) and a
   whole walk; the deep page against the first one (the OFFSET's cost).

    python -m bench.scim [--db sqlite|postgres|both] [--users 100000]
"""

import hashlib
import json
import secrets
import statistics
import time
import urllib.parse
import urllib.request
from typing import Any

from bench import harness, seed
from bench.harness import Row
from bench.me import QUERY as ME_QUERY

SESSIONS = 200
LOOKUPS = 2000
PAGE = 1000


async def seed_scim(users: int) -> dict[str, Any]:
    from gql_portal.accounts.models import User
    from gql_portal.clock import utcnow
    from gql_portal.scim.models import ScimToken

    domain = await seed.make_domain("scim.bench.example", two_factor=True)
    members = await seed.add_users(domain, "member", users, password_hash="x")
    # Every tenth user inactive: the filter has something to skip.
    await User.filter(domain_id=domain.id, id__in=[user.id for user in members[::10]]).update(
        active=False
    )
    tokens = await seed.add_sessions(members[1 : SESSIONS + 1])
    scim = "gqlps_" + secrets.token_urlsafe(32)
    await ScimToken.create(
        domain_id=domain.id,
        label="bench",
        token_hash=hashlib.sha256(scim.encode()).hexdigest(),
        created_at=utcnow(),
    )
    step = max(1, len(members) // LOOKUPS)
    emails = [user.email for user in members[::step]][:LOOKUPS]
    return {"sessions": tokens, "scim": scim, "emails": emails}


def scim_request(path: str, token: str) -> dict[str, Any]:
    return {
        "method": "GET",
        "path": path,
        "headers": {"authorization": f"Bearer {token}", "accept": "application/scim+json"},
    }


def lookup_path(email: str) -> str:
    query = urllib.parse.urlencode({"filter": f'userName eq "{email}"'})
    return f"/scim/v2/Users?{query}"


def get(target: harness.Server, path: str, token: str) -> tuple[float, dict[str, Any]]:
    request = urllib.request.Request(target.url(path), headers={"authorization": f"Bearer {token}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    return (time.perf_counter() - started) * 1000, body


def listing(target: harness.Server, token: str, users: int) -> dict[str, float]:
    filter = urllib.parse.quote("active eq true")
    first = [
        get(target, f"/scim/v2/Users?filter={filter}&count={PAGE}", token)[0] for _ in range(5)
    ]
    total = get(target, f"/scim/v2/Users?filter={filter}&count=0", token)[1]["totalResults"]
    last_start = max(1, total - PAGE + 1)
    last = [
        get(target, f"/scim/v2/Users?filter={filter}&startIndex={last_start}&count={PAGE}", token)[
            0
        ]
        for _ in range(5)
    ]
    started = time.perf_counter()
    seen = 0
    start = 1
    while start <= total:
        body = get(
            target, f"/scim/v2/Users?filter={filter}&startIndex={start}&count={PAGE}", token
        )[1]
        seen += len(body["Resources"])
        start += PAGE
    walk = time.perf_counter() - started
    if seen != total:
        raise RuntimeError(f"the walk saw {seen} of {total} users")
    return {
        "first_ms": statistics.median(first),
        "last_ms": statistics.median(last),
        "walk_s": walk,
        "total": total,
    }


def measure(kind: str, args: Any) -> list[Row]:
    with harness.bench_database(kind, "scim") as db:
        seeded = harness.run_with_orm(db, lambda: seed_scim(args.users))
        with harness.portal_server(db) as ours:
            probe = get(ours, lookup_path(seeded["emails"][0]), seeded["scim"])[1]
            if probe["totalResults"] != 1:
                raise RuntimeError(f"the lookup found {probe['totalResults']} users")
            me_requests = [harness.graphql_request(ME_QUERY, t) for t in seeded["sessions"]]
            lookups = [scim_request(lookup_path(e), seeded["scim"]) for e in seeded["emails"]]

            def run(name: str, requests: list[dict[str, Any]]) -> dict[str, Any]:
                streams = [harness.stream(name, requests, args.connections)]
                return harness.load(ours, streams, warmup=args.warmup, duration=args.duration)[name]

            base, mine = harness.alternate(
                args.runs, lambda: run("me", me_requests), lambda: run("scim", lookups)
            )
            listed = listing(ours, seeded["scim"], args.users)
    print(
        f"   {kind}: {listed['total']} active of {args.users} users; page of {PAGE}: first "
        f"{listed['first_ms']:.1f} ms, last {listed['last_ms']:.1f} ms; whole walk "
        f"{listed['walk_s']:.1f} s",
        flush=True,
    )
    return [
        *harness.throughput_rows("userName eq vs me", "userName eq p99", base, mine, at_least=0.5),
        Row("last page vs first", "ms", [listed["first_ms"]], [listed["last_ms"]]),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    args = parser.parse_known_args(argv)[0]
    rows = {kind: measure(kind, args) for kind in harness.backends(args.db)}
    harness.report(
        "14.6 SCIM: userName lookups vs me; listing with a filter",
        "POST /graphql { me { id email displayName roles } } (same server)",
        'GET /scim/v2/Users?filter=userName eq "..." via gql-portal serve',
        rows,
        args.json_out,
    )


if __name__ == "__main__":
    main()
