"""PostgreSQL's planner statistics of the users table while an import fills it.

An import of 100,000 users into a new domain grows the table the chunks' statements read
(`id = ANY(...)` of the audit events, the invitations' joins) from the planner's point of
view out of nothing: until autovacuum comes round (a minute or more), PostgreSQL believes
the domain holds a row or two and the table a few pages, and it reads the whole table once
per chunk instead of probing the primary key (quadratic: every chunk slower than the last).
So the runner analyzes the table whenever the job has doubled what it created since the last
time: a handful of ANALYZEs per job (1,000, 2,000, 4,000, ... users), each a sample of
at most 30,000 rows, outside the chunks' transactions. SQLite plans from its indexes alone.
"""

import logging
from dataclasses import dataclass

from gql_portal.accounts.models import User
from gql_portal.bulk.models import BulkJob
from gql_portal.sql import execute, is_postgres

FIRST_ANALYZE_AT = 1000
log = logging.getLogger("gql_portal.bulk")


@dataclass(slots=True)
class TableGrowth:
    analyzed_at: int = 0

    async def after_chunk(self, job: BulkJob) -> None:
        """Called after a chunk committed, with the job as that chunk left it."""
        connection = User._meta.db
        if job.created < max(FIRST_ANALYZE_AT, 2 * self.analyzed_at):
            return
        if not is_postgres(connection):
            return
        self.analyzed_at = job.created
        try:
            # A role that does not own the table gets a warning, not an error.
            await execute(connection, "ANALYZE users", [])
        except Exception as error:  # statistics only speed the job up: it goes on without
            log.warning("bulk job %s: ANALYZE users failed: %s", job.id, error)
