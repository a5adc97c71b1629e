"""``gql-portal bulk-enable`` and ``import-users``: start a job as an operator and follow it
with a progress bar."""

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gql_portal.accounts import services as account_services
from gql_portal.accounts.models import Domain, Role
from gql_portal.bulk import services
from gql_portal.bulk.dispatch import InProcessDispatcher, JobDispatcher, dispatcher_for
from gql_portal.bulk.import_rows import rows_of_jobs
from gql_portal.bulk.imports import start_import
from gql_portal.bulk.models import BulkJob, BulkJobKind, BulkJobStatus, ImportRowOutcome
from gql_portal.bulk.selection import build_selection
from gql_portal.errors import BadUserInputError, NotFoundError
from gql_portal.request_meta import SYSTEM
from gql_portal.settings import get_settings
from gql_portal.worker_presence import count_alive

BAR_WIDTH = 30
NO_WORKER = "waiting for a worker: none is alive"
# Refused rows printed after an import; the rest are in BulkJob.errors.
SHOWN_ERRORS = 20


async def workers_alive() -> int:
    """Live ``gql-portal worker`` processes (0 when Redis cannot be asked either)."""
    url = get_settings().redis_url
    if url is None:
        return 0
    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        return await count_alive(client)
    except (RedisError, OSError):
        return 0
    finally:
        await client.aclose()


def progress_line(job: BulkJob) -> str:
    filled = int(job.progress * BAR_WIDTH)
    bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {job.progress:6.1%} "
    if job.kind == BulkJobKind.IMPORT_USERS.value:
        return bar + (
            f"{job.processed:,}/{job.total:,} created {job.created:,} updated {job.updated:,} "
            f"unchanged {job.skipped:,} refused {job.failed:,}"
        )
    return bar + f"{job.processed:,}/{job.total:,} changed {job.changed:,} skipped {job.skipped:,}"


async def follow(job: BulkJob, out: TextIO, *, poll_seconds: float = 0.25) -> BulkJob:
    """Draws the bar from the job row, whichever process runs the job."""
    live = out.isatty()
    while True:
        job = await BulkJob.get(id=job.id)
        if live:
            out.write("\r" + progress_line(job))
            out.flush()
        if job.is_final:
            out.write("\n" if live else progress_line(job) + "\n")
            return job
        await asyncio.sleep(poll_seconds)


async def bulk_enable(
    *, domain_name: str, roles: list[Role] | None, dry_run: bool, out: TextIO = sys.stderr
) -> int:
    # Normalised as create-user and audit find it.
    domain: Domain | None = await account_services.get_domain_by_name(domain_name)
    if domain is None:
        raise NotFoundError(f"domain {domain_name} does not exist")
    dispatcher: JobDispatcher = dispatcher_for(get_settings())
    try:
        job = await services.start_job(
            actor=None,
            domain_id=domain.id,
            selection=build_selection(roles=roles),
            dry_run=dry_run,
            meta=SYSTEM,
            dispatcher=dispatcher,
        )
        if dry_run:
            print(f"dry run: {job.total:,} users selected in {domain.name}; nothing changed")
            return 0
        where = "in this process" if isinstance(dispatcher, InProcessDispatcher) else "by a worker"
        print(f"bulk job {job.id}: enabling 2FA for {job.total:,} users, run {where}", file=out)
        if not isinstance(dispatcher, InProcessDispatcher) and not await workers_alive():
            print(NO_WORKER, file=out)
        job = await follow(job, out)
    finally:
        await dispatcher.close()
    print(
        f"{job.status}: {job.changed:,} enabled, {job.skipped:,} already enabled"
        + (f"; {job.error}" if job.error else "")
    )
    return 0 if job.status == BulkJobStatus.SUCCEEDED.value else 1


def read_csv_file(path: Path, max_bytes: int) -> str:
    """The file as text: too large or not UTF-8 is one line naming the file."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise BadUserInputError(f"{path}: larger than {max_bytes:,} bytes")
        raw = path.read_bytes()
    except OSError as error:
        raise BadUserInputError(f"{path}: {error.strerror or error}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise BadUserInputError(f"{path}: line {line}: not UTF-8 text") from None


async def import_users(
    *,
    domain_name: str,
    path: Path,
    dry_run: bool,
    enable_two_factor: bool,
    out: TextIO = sys.stderr,
) -> int:
    """0 when every row went in (a dry run: would), 1 when rows were refused or the job
    did not succeed; the refused rows are listed with their lines."""
    domain: Domain | None = await account_services.get_domain_by_name(domain_name)
    if domain is None:
        raise NotFoundError(f"domain {domain_name} does not exist")
    text = read_csv_file(path, get_settings().import_max_bytes)
    dispatcher: JobDispatcher = dispatcher_for(get_settings())
    try:
        job = await start_import(
            actor=None,
            domain_id=domain.id,
            csv_text=text,
            dry_run=dry_run,
            enable_two_factor=enable_two_factor,
            meta=SYSTEM,
            dispatcher=dispatcher,
        )
        where = "in this process" if isinstance(dispatcher, InProcessDispatcher) else "by a worker"
        what = "checking" if dry_run else "importing"
        print(f"import job {job.id}: {what} {job.total:,} rows, run {where}", file=out)
        if not isinstance(dispatcher, InProcessDispatcher) and not await workers_alive():
            print(NO_WORKER, file=out)
        job = await follow(job, out)
    finally:
        await dispatcher.close()
    (refused,) = await rows_of_jobs(
        [job.id], first=SHOWN_ERRORS, outcomes=[ImportRowOutcome.REFUSED]
    )
    for row in refused:
        print(f"line {row.line}: {row.email or '(no email)'}: {row.error}")
    if job.failed > len(refused):
        print(f"... and {job.failed - len(refused):,} more refused rows")
    would = " (dry run: nothing changed)" if dry_run else ""
    print(
        f"{job.status}: {job.created:,} created, {job.updated:,} updated, "
        f"{job.skipped:,} unchanged, {job.failed:,} refused{would}"
        + (f"; {job.error}" if job.error else "")
    )
    return 0 if job.status == BulkJobStatus.SUCCEEDED.value and not job.failed else 1
