"""The one keyset pager behind users, auditEvents and bulkJobs: every row once, in order,
ties on the first key included, one statement a page, and forged cursors refused."""

from datetime import timedelta

import pytest
from tortoise.expressions import Q

from gql_portal.audit.reader import EVENTS
from gql_portal.bulk.models import BulkJob
from gql_portal.bulk.services import JOBS
from gql_portal.clock import utcnow
from gql_portal.errors import BadUserInputError
from gql_portal.paging import Keyset, M, encode_cursor
from tests.audit.helpers import make_event
from tests.database import TestDatabase
from tests.factories import make_domain
from tests.querycount import count_queries

pytestmark = pytest.mark.usefixtures("database")


async def _walk(keyset: Keyset[M], condition: Q, first: int) -> list[M]:
    seen: list[M] = []
    after = None
    while True:
        with count_queries() as statements:
            page = await keyset.page(condition, first=first, after=after)
        assert len(statements) == 1, statements
        seen.extend(page.items)
        if not page.has_next_page:
            return seen
        assert page.cursors and len(page.cursors) == len(page.items)
        after = page.cursors[-1]


async def test_bulk_jobs_page_newest_first_through_ties(database: TestDatabase) -> None:
    domain = await make_domain()
    now = utcnow()
    # Three jobs share each creation time: only the id orders them.
    for index in range(9):
        await BulkJob.create(domain_id=domain.id, created_at=now - timedelta(seconds=index // 3))
    expected = await BulkJob.filter(domain_id=domain.id).order_by("-created_at", "-id")
    for first in (1, 2, 4, 9):
        walked = await _walk(JOBS, Q(domain_id=domain.id), first)
        assert [job.id for job in walked] == [job.id for job in expected], first


async def test_audit_events_page_newest_first_through_ties(database: TestDatabase) -> None:
    domain = await make_domain()
    now = utcnow()
    for index in range(7):
        await make_event(domain, occurred_at=now - timedelta(seconds=index // 2))
    walked = await _walk(EVENTS, Q(domain_id=domain.id), 2)
    keys = [(event.occurred_at, event.id) for event in walked]
    assert len(keys) == 7 and keys == sorted(keys, reverse=True)
    streamed = [row["id"] async for row in EVENTS.rows(Q(domain_id=domain.id), batch_size=3)]
    assert streamed == [event.id for event in walked]


@pytest.mark.parametrize(
    ("keyset", "values"),
    [
        (JOBS, [utcnow().isoformat(), "not-a-uuid"]),
        (JOBS, ["yesterday", "00000000-0000-0000-0000-000000000001"]),
        (EVENTS, [utcnow().isoformat(), "7"]),  # an id is a JSON number, not a string
        (EVENTS, [utcnow().isoformat(), 2**63]),
    ],
)
async def test_a_forged_cursor_is_bad_user_input(keyset: Keyset[M], values: list[object]) -> None:
    for cursor in (encode_cursor(keyset.kind, *values), encode_cursor("other", *values)):
        with pytest.raises(BadUserInputError) as refused:
            await keyset.page(Q(), first=1, after=cursor)
        assert refused.value.extensions == {"field": "after"}
