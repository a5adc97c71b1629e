"""Issue 5: an `auditEvents` page deep in a 1,000,000-event domain costs at most 2x page 1
(keyset cursors over (occurred_at, id)); the same page through OFFSET, the control, costs
far more. Times the service call the resolver makes (`reader.list_events`), in process.

    python -m bench.audit_pages [--db sqlite|postgres|both] [--rows 1000000] [--repeat 15]
"""

import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import harness

PAGE = 50
NOISE_ROWS = 100_000  # another domain's events, interleaved in time


async def _fill(domain_id: int, rows: int, start: datetime) -> None:
    from tortoise import connections

    from gql_portal.sql import execute

    connection = connections.get("default")
    step = 200_000
    for offset in range(0, rows, step):
        count = min(step, rows - offset)
        first = start + timedelta(seconds=offset)
        if connection.capabilities.dialect == "postgres":
            sql = (
                "INSERT INTO audit_events (domain_id, occurred_at, action, outcome, ip)"
                " SELECT ?, ?::timestamptz + n * interval '1 second',"
                " CASE WHEN n % 3 = 0 THEN 'LOGIN_FAILED' ELSE 'LOGIN_SUCCEEDED' END,"
                " CASE WHEN n % 3 = 0 THEN 'FAILURE' ELSE 'SUCCESS' END,"
                " '198.51.100.' || (n % 250) FROM generate_series(0, ? - 1) AS n"
            )
            await execute(connection, sql, [domain_id, first, count])
        else:
            sql = (
                "WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < ?)"
                " INSERT INTO audit_events (domain_id, occurred_at, action, outcome, ip)"
                " SELECT ?, strftime('%Y-%m-%d %H:%M:%S', ?, '+' || n || ' seconds')"
                " || '.250000+00:00',"
                " CASE WHEN n % 3 = 0 THEN 'LOGIN_FAILED' ELSE 'LOGIN_SUCCEEDED' END,"
                " CASE WHEN n % 3 = 0 THEN 'FAILURE' ELSE 'SUCCESS' END,"
                " '198.51.100.' || (n % 250) FROM seq"
            )
            await execute(connection, sql, [count - 1, domain_id, first.strftime("%F %T")])
    if connection.capabilities.dialect == "postgres":
        await connection.execute_script("ANALYZE audit_events")
    else:
        await connection.execute_script("ANALYZE")


def _median_ms(repeat: int, samples: list[float]) -> float:
    return statistics.median(samples[-repeat:]) * 1000


async def _measure(rows: int, repeat: int) -> dict[str, Any]:
    from gql_portal.accounts.models import Role, User, encode_roles
    from gql_portal.accounts.services import create_domain
    from gql_portal.audit import reader
    from gql_portal.audit.filters import AuditQuery, event_condition
    from gql_portal.audit.models import AuditEvent
    from gql_portal.request_meta import RequestMeta

    domain = await create_domain(name="audit.bench.example")
    noise = await create_domain(name="noise.bench.example")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    began = time.monotonic()
    await _fill(domain.id, rows, start)
    await _fill(noise.id, NOISE_ROWS, start + timedelta(seconds=7))
    fill_seconds = time.monotonic() - began
    auditor = await User.create(
        domain_id=domain.id,
        email="auditor@audit.bench.example",
        email_normalized="auditor@audit.bench.example",
        roles=encode_roles([Role.AUDITOR]),
        password_hash="x",
    )
    meta = RequestMeta()
    query = AuditQuery()
    deep = rows - PAGE  # the last page: rows (deep+1) .. rows
    newest_first = AuditEvent.filter(event_condition(domain.id, query)).order_by(
        *reader.EVENTS.order
    )
    anchor = await newest_first.offset(deep - 1).first()
    assert anchor is not None
    cursor = reader.EVENTS.cursor(anchor)

    async def timed(work: Any) -> list[float]:
        samples = []
        for _ in range(repeat + 3):  # three warm-up calls
            t0 = time.perf_counter()
            await work()
            samples.append(time.perf_counter() - t0)
        return samples

    async def first_page() -> None:
        page = await reader.list_events(
            actor=auditor, query=query, first=PAGE, after=None, meta=meta
        )
        assert len(page.items) == PAGE

    async def deep_page() -> None:
        page = await reader.list_events(
            actor=auditor, query=query, first=PAGE, after=cursor, meta=meta
        )
        assert len(page.items) == PAGE and not page.has_next_page

    async def offset_page() -> None:
        items = await newest_first.offset(deep).limit(PAGE + 1)
        assert len(items) == PAGE

    page1 = _median_ms(repeat, await timed(first_page))
    deep_ms = _median_ms(repeat, await timed(deep_page))
    offset_ms = _median_ms(repeat, await timed(offset_page))
    return {
        "rows": rows,
        "fill_s": fill_seconds,
        "page1_ms": page1,
        "deep_ms": deep_ms,
        "offset_ms": offset_ms,
    }


def main() -> None:
    args = harness.parser(__doc__)
    args.add_argument("--rows", type=int, default=1_000_000)
    args.add_argument("--repeat", type=int, default=15)
    options = args.parse_args()
    print(
        f"audit pages: {options.rows:,} events in the domain, pages of {PAGE}, "
        f"medians of {options.repeat}; {harness.machine()}"
    )
    for kind in harness.backends(options.db):
        with harness.bench_database(kind, "audit") as db:
            result = harness.run_with_orm(db, lambda: _measure(options.rows, options.repeat))
        ratio = result["deep_ms"] / result["page1_ms"]
        control = result["offset_ms"] / result["page1_ms"]
        verdict = "OK" if ratio <= 2 else "TOO SLOW"
        print(
            f"{kind:9} fill {result['fill_s']:.0f} s | page 1 {result['page1_ms']:.2f} ms | "
            f"page at row {result['rows']:,} {result['deep_ms']:.2f} ms (x{ratio:.2f}, {verdict})"
            f" | same page by OFFSET {result['offset_ms']:.1f} ms (x{control:.0f})"
        )


if __name__ == "__main__":
    main()
