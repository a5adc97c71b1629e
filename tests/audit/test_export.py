import csv
import io
import json
import time
import tracemalloc

from gql_portal.accounts.models import Role
from gql_portal.audit.export import csv_cell, export_body
from gql_portal.audit.filters import AuditQuery
from gql_portal.audit.models import AuditEvent
from tests.audit.helpers import fill_events, make_event, signed_in
from tests.factories import make_domain
from tests.graphql import GraphQLClient


async def _export(client: GraphQLClient, token: str | None, query: str) -> tuple[int, str, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.http.get(f"/audit/export?{query}", headers=headers)
    return response.status_code, response.text, dict(response.headers)


async def test_csv_export_neutralises_formulas_and_escapes_control_characters(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    evil = await make_event(
        domain,
        action="LOGIN_FAILED",
        outcome="FAILURE",
        target_email='=HYPERLINK("http://x")@a.example',
        user_agent="+cmd|' /C calc'!A0\r\nsecond line\x1b[31m",
        ip="-2+3",
        request_id="@SUM(1)",
        details={"note": "\tTab"},
    )
    _, token = await signed_in(client, domain, Role.AUDITOR)
    status, body, headers = await _export(client, token, "format=csv&actions=LOGIN_FAILED")
    assert status == 200
    assert headers["content-type"] == "text/csv; charset=utf-8"
    assert headers["content-disposition"].startswith('attachment; filename="audit-events-')
    assert headers["content-disposition"].endswith('.csv"')
    lines = body.split("\r\n")
    assert lines[-1] == "" and len(lines) == 3, "one header, one row, no raw newline in cells"
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == str(evil.id)
    assert row["target_email"] == '\'=HYPERLINK("http://x")@a.example'
    assert row["user_agent"] == "'+cmd|' /C calc'!A0\\u000d\\u000asecond line\\u001b[31m"
    assert row["ip"] == "'-2+3"
    assert row["request_id"] == "'@SUM(1)"
    assert json.loads(row["details"].replace("\\u0009", "\\t")) == {"note": "\tTab"}
    assert row["action"] == "LOGIN_FAILED" and row["outcome"] == "FAILURE"


def test_csv_cells_starting_with_tab_or_cr_are_text() -> None:
    assert csv_cell("\t=1") == "'\\u0009=1"
    assert csv_cell("\r=1") == "'\\u000d=1"
    assert csv_cell("plain") == "plain"
    assert csv_cell(7) == "7"
    assert csv_cell(None) == ""


async def test_ndjson_export_has_every_event_of_the_own_domain_only(
    client: GraphQLClient,
) -> None:
    domain, other = await make_domain(), await make_domain()
    await make_event(other, action="LOGOUT", ip="192.0.2.99")
    mine = await make_event(domain, action="LOGOUT", ip="192.0.2.1", user_agent="a\u2028b\x01")
    _, token = await signed_in(client, domain, Role.SYSTEM_ADMIN)
    status, body, headers = await _export(client, token, "format=ndjson&actions=LOGOUT")
    assert status == 200 and headers["content-type"] == "application/x-ndjson"
    assert headers["content-disposition"].endswith('.ndjson"')
    assert "\u2028" not in body and "\x01" not in body
    records = [json.loads(line) for line in body.splitlines()]
    assert [r["id"] for r in records] == [mine.id]
    assert records[0]["user_agent"] == "a\u2028b\x01" and records[0]["ip"] == "192.0.2.1"
    # Without the action filter: this domain's login event too, never the other domain's.
    _, body, _ = await _export(client, token, "format=ndjson")
    domains = {r["id"]: r for r in map(json.loads, body.splitlines())}
    assert mine.id in domains and len(domains) == 2
    expected = await AuditEvent.filter(domain_id=domain.id).count()
    assert len(domains) == expected


async def test_export_filters_like_the_query(client: GraphQLClient) -> None:
    domain = await make_domain()
    await fill_events(domain, 20)
    _, token = await signed_in(client, domain, Role.AUDITOR)
    _, body, _ = await _export(client, token, "format=ndjson&ip=198.51.100.3&outcome=FAILURE")
    records = [json.loads(line) for line in body.splitlines()]
    assert [r["target_email"] for r in records] == ["u3@x.example"]
    ordered = await AuditEvent.filter(domain_id=domain.id, action="LOGIN_FAILED").order_by(
        "-occurred_at", "-id"
    )
    since = ordered[4].occurred_at.isoformat().replace("+00:00", "Z")
    _, body, _ = await _export(
        client, token, f"format=csv&actions=LOGIN_FAILED,LOGOUT&since={since.replace('+', '%2B')}"
    )
    ids = [int(row["id"]) for row in csv.DictReader(io.StringIO(body))]
    assert ids == [e.id for e in ordered[:5]]


async def test_export_is_refused_like_the_query(client: GraphQLClient) -> None:
    domain = await make_domain()
    user, token = await signed_in(client, domain, Role.USER)
    status, body, _ = await _export(client, token, "format=csv")
    assert status == 403 and json.loads(body)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    denied = await AuditEvent.get(action="ACCESS_DENIED", actor_id=user.id)
    assert denied.details == {"operation": "auditExport"}
    status, body, _ = await _export(client, None, "format=csv")
    assert status == 401 and "UNAUTHENTICATED" in body
    status, _, _ = await _export(client, "gqlp_bogus", "format=csv")
    assert status == 401
    _, reader = await signed_in(client, domain, Role.AUDITOR)
    for query in (
        "format=xml",
        "format=csv&since=yesterday",
        "format=csv&actions=NOPE",
        "format=csv&actorId=x",
        "since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z",
    ):
        status, body, _ = await _export(client, reader, query)
        assert status == 400 and "BAD_USER_INPUT" in body, query


async def _consume(domain_id: int) -> tuple[int, int, int]:
    """Stream the export body, keeping only counts: bytes, lines, tracemalloc peak."""
    size = lines = 0
    tracemalloc.start()
    try:
        async for chunk in export_body(domain_id=domain_id, query=AuditQuery(), format="csv"):
            size += len(chunk)
            lines += chunk.count(b"\r\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return size, lines, peak


async def test_export_memory_stays_flat_on_200000_rows(client: GraphQLClient) -> None:
    small, large = await make_domain(), await make_domain()
    await fill_events(small, 20_000)
    await fill_events(large, 200_000)
    started = time.monotonic()
    small_size, small_lines, small_peak = await _consume(small.id)
    size, lines, peak = await _consume(large.id)
    assert small_lines == 20_001 and lines == 200_001
    assert size > 9 * small_size and size > 20_000_000
    # A buffered export would hold the whole ~20 MB body; a streamed one holds one batch.
    assert peak < 5_000_000, peak
    assert peak < 1.5 * small_peak + 500_000, (small_peak, peak)
    assert time.monotonic() - started < 300
