"""What one chunk of a bulk job did, whatever its kind, and how a chunk stops the job.

Each kind of job has one step (bulk/chunk.py for ENABLE_TWO_FACTOR, bulk/import_chunk.py
for IMPORT_USERS): given the locked job and its checkpoint, it does the next chunk inside
the runner's transaction and says what it did, or None when nothing is left. The runner
(bulk/runner.py) does everything else alike for every kind: locking, cancel, checkpoint,
counters, heartbeat, retries, the end of the job.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from gql_portal.bulk.models import BulkJob
from gql_portal.errors import PortalError


class JobStoppedError(PortalError):
    """A rule of the domain stops the job; the message is shown as the job's error."""


class ChunkRaceError(Exception):
    """The users changed between reading and updating the chunk: do it again."""


@dataclass(frozen=True, slots=True)
class ChunkCounts:
    """Added to the job's counters; ``checkpoint`` is where the next chunk starts after."""

    checkpoint: int
    processed: int
    changed: int = 0
    skipped: int = 0
    failed: int = 0
    created: int = 0
    updated: int = 0


Step = Callable[[BulkJob, int, datetime, BaseDBAsyncClient], Awaitable[ChunkCounts | None]]
