"""Audit cron jobs: seal the hash chains every few seconds, purge expired events hourly."""

from typing import Any

from arq.cron import cron

from gql_portal.audit.chain import seal_all
from gql_portal.audit.retention import purge_all
from workers.resilient import skips_outages


@skips_outages
async def seal_audit_chains(ctx: dict[str, Any]) -> int:
    return await seal_all()


@skips_outages
async def purge_audit_events(ctx: dict[str, Any]) -> int:
    return await purge_all()


AUDIT_CRON_JOBS = [
    # unique=True (the default) keeps two workers from running the same tick at once;
    # the sealer is safe against overlap anyway.
    cron(seal_audit_chains, second=set(range(0, 60, 5)), run_at_startup=True, timeout=300),
    cron(purge_audit_events, minute={17}, second={0}, timeout=3600),
]
