"""Retention: delete a domain's sealed events older than its ``audit_retention_days``.

Deletion takes an id-ordered prefix of sealed events, and records the chain hash of the
last one deleted in ``AuditRetentionCheckpoint`` in the same transaction, so the rest of
the chain stays verifiable from there.
"""

from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from gql_portal.accounts.models import PasswordSecurityRules
from gql_portal.audit.chain import NO_DOMAIN, chain_filter, seal_chain
from gql_portal.audit.models import AuditEvent, AuditRetentionCheckpoint
from gql_portal.clock import utcnow

DEFAULT_RETENTION_DAYS = 365


async def purge_chain(
    chain: int, *, retention_days: int, now: datetime | None = None, batch_size: int = 5000
) -> int:
    """Delete expired sealed events of one chain in batches; returns how many went."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    deleted = 0
    while True:
        rows = (
            await AuditEvent.filter(chain_filter(chain), chain_hash__not_isnull=True)
            .order_by("id")
            .limit(batch_size)
            .values("id", "occurred_at", "chain_hash")
        )
        expired = []
        for row in rows:
            if row["occurred_at"] >= cutoff:
                break  # a prefix only: the chain must continue right after the checkpoint
            expired.append(row)
        if not expired:
            return deleted
        last = expired[-1]
        checkpoint = await AuditRetentionCheckpoint.get_or_none(domain_id=chain)
        try:
            async with in_transaction() as connection:
                gone = (
                    await AuditEvent.filter(
                        chain_filter(chain), id__lte=last["id"], chain_hash__not_isnull=True
                    )
                    .using_db(connection)
                    .delete()
                )
                if checkpoint is None:
                    await AuditRetentionCheckpoint.create(
                        domain_id=chain,
                        last_deleted_id=last["id"],
                        chain_hash=last["chain_hash"],
                        deleted_count=gone,
                        updated_at=utcnow(),
                        using_db=connection,
                    )
                else:
                    moved = (
                        await AuditRetentionCheckpoint.filter(
                            domain_id=chain, last_deleted_id=checkpoint.last_deleted_id
                        )
                        .using_db(connection)
                        .update(
                            last_deleted_id=last["id"],
                            chain_hash=last["chain_hash"],
                            deleted_count=checkpoint.deleted_count + gone,
                            updated_at=utcnow(),
                        )
                    )
                    if moved == 0:
                        raise _LostRace()
        except (IntegrityError, _LostRace):
            return deleted  # another purger moved the checkpoint; its work stands
        deleted += gone
        if len(expired) < batch_size:
            return deleted


class _LostRace(Exception):
    pass


async def retention_days_by_chain() -> dict[int, int]:
    rows = await PasswordSecurityRules.all().values_list("domain_id", "audit_retention_days")
    days = {int(domain_id): int(value) for domain_id, value in rows}
    return {NO_DOMAIN: DEFAULT_RETENTION_DAYS, **days}


async def purge_all(*, now: datetime | None = None, settle: timedelta | None = None) -> int:
    """Seal first (only sealed events are deleted), then purge every chain."""
    deleted = 0
    for chain, days in (await retention_days_by_chain()).items():
        if days <= 0:
            continue  # 0 or less: keep forever
        if settle is None:
            await seal_chain(chain)
        else:
            await seal_chain(chain, settle=settle)
        deleted += await purge_chain(chain, retention_days=days, now=now)
    return deleted
