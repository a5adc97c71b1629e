"""Tamper evidence: a hash chain per domain, sealed after the fact in id order.

Each sealed event stores ``content_hash`` (SHA-256 of its canonical content) and
``chain_hash = SHA-256(previous chain_hash + content_hash)``. An UPDATE of a sealed
event breaks its content hash; a DELETE breaks the chain hash of the next event (or,
at the tail, the hash recorded in ``AuditChainState``). Retention deletes a prefix and
records where the chain continues in ``AuditRetentionCheckpoint``.
"""

import hashlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from gql_portal.accounts.models import Domain
from gql_portal.audit.models import AuditChainState, AuditEvent, AuditRetentionCheckpoint
from gql_portal.clock import utcnow

log = logging.getLogger("gql_portal.audit")
GENESIS = "0" * 64
NO_DOMAIN = 0  # the chain of events that belong to no domain
# PostgreSQL hands out ids at INSERT but the rows become visible at COMMIT: events younger
# than this are left for the next round, so a late commit does not fall behind the seal.
SETTLE = timedelta(seconds=2)


def chain_filter(chain: int) -> Q:
    return Q(domain_id=None) if chain == NO_DOMAIN else Q(domain_id=chain)


def canonical_content(event: AuditEvent) -> bytes:
    content = {
        "id": event.id,
        "domain_id": event.domain_id,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "action": event.action,
        "outcome": event.outcome,
        "actor_id": event.actor_id,
        "actor_email": event.actor_email,
        "target_id": event.target_id,
        "target_email": event.target_email,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "job_id": str(event.job_id) if event.job_id else None,
        "details": event.details,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()


def content_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical_content(event)).hexdigest()


def link(previous: str, content: str) -> str:
    return hashlib.sha256((previous + content).encode()).hexdigest()


async def chain_keys() -> list[int]:
    domains = await Domain.all().order_by("id").only("id")
    return [NO_DOMAIN, *(domain.id for domain in domains)]


async def _state(chain: int) -> AuditChainState:
    state = await AuditChainState.get_or_none(domain_id=chain)
    if state is not None:
        return state
    try:
        return await AuditChainState.create(
            domain_id=chain, last_sealed_id=0, last_chain_hash=GENESIS, updated_at=utcnow()
        )
    except IntegrityError:  # another sealer created it first
        return await AuditChainState.get(domain_id=chain)


async def seal_chain(chain: int, *, batch_size: int = 500, settle: timedelta = SETTLE) -> int:
    """Seal the next unsealed events of one chain; returns how many this call sealed.

    Safe against concurrent sealers: the state advances by a conditional UPDATE on the
    position it started from, in the same transaction as the hashes; a loser rolls back.
    """
    sealed = 0
    while True:
        state = await _state(chain)
        rows = (
            await AuditEvent.filter(chain_filter(chain), id__gt=state.last_sealed_id)
            .order_by("id")
            .limit(batch_size)
        )
        cutoff = utcnow() - settle
        batch: list[AuditEvent] = []
        for event in rows:
            if event.chain_hash is not None:
                # Sealed already, yet past the recorded state: the state was rolled back or
                # deleted. Re-sealing would launder whatever was changed; leave it to verify.
                log.error(
                    "audit chain %s: event %s is sealed past the chain state", chain, event.id
                )
                return sealed
            if event.occurred_at > cutoff:
                break  # keep id order: nothing after a too-young event is sealed yet
            batch.append(event)
        if not batch:
            return sealed
        previous = state.last_chain_hash
        for event in batch:
            event.content_hash = content_hash(event)
            event.chain_hash = previous = link(previous, event.content_hash)
        async with in_transaction() as connection:
            advanced = (
                await AuditChainState.filter(domain_id=chain, last_sealed_id=state.last_sealed_id)
                .using_db(connection)
                .update(
                    last_sealed_id=batch[-1].id,
                    last_chain_hash=previous,
                    sealed_count=state.sealed_count + len(batch),
                    updated_at=utcnow(),
                )
            )
            if advanced == 0:
                return sealed  # another sealer got there first; nothing was written
            await AuditEvent.bulk_update(
                batch, fields=["content_hash", "chain_hash"], using_db=connection
            )
        sealed += len(batch)
        if len(batch) < batch_size:
            return sealed


async def seal_all(*, settle: timedelta = SETTLE) -> int:
    return sum([await seal_chain(chain, settle=settle) for chain in await chain_keys()])


@dataclass(frozen=True, slots=True)
class ChainReport:
    verified: int
    unsealed: int
    problem: str | None = None
    event_id: int | None = None
    # The chain's last hash: record it elsewhere now and then, and a later verify that
    # prints an earlier head shows a chain rebuilt by someone who can write the database.
    head: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


async def _sealed_range(chain: int, after_id: int, last_id: int) -> AsyncIterator[AuditEvent]:
    while after_id < last_id:
        batch = (
            await AuditEvent.filter(chain_filter(chain), id__gt=after_id, id__lte=last_id)
            .order_by("id")
            .limit(1000)
        )
        if not batch:
            return
        for event in batch:
            yield event
        after_id = batch[-1].id


async def verify_chain(chain: int) -> ChainReport:
    """Recompute the chain from its start (or the retention checkpoint); the first break wins."""
    checkpoint = await AuditRetentionCheckpoint.get_or_none(domain_id=chain)
    state = await AuditChainState.get_or_none(domain_id=chain)
    previous = checkpoint.chain_hash if checkpoint else GENESIS
    start = checkpoint.last_deleted_id if checkpoint else 0
    last_sealed = state.last_sealed_id if state else 0
    verified = 0
    last_checked: int | None = None
    async for event in _sealed_range(chain, start, last_sealed):
        if event.chain_hash is None or event.content_hash is None:
            return ChainReport(
                verified,
                0,
                f"event {event.id} lies inside the sealed range "
                "but is not sealed (inserted later, or its seal erased)",
                event.id,
            )
        if content_hash(event) != event.content_hash:
            return ChainReport(verified, 0, f"event {event.id} was altered after sealing", event.id)
        if link(previous, event.content_hash) != event.chain_hash:
            return ChainReport(
                verified,
                0,
                f"event {event.id} does not follow its "
                "predecessor: sealed events before it were removed "
                "(or its chain hash was altered)",
                event.id,
            )
        previous = event.chain_hash
        last_checked = event.id
        verified += 1
    stray = (
        await AuditEvent.filter(chain_filter(chain), id__gt=last_sealed)
        .filter(Q(chain_hash__not_isnull=True) | Q(content_hash__not_isnull=True))
        .order_by("id")
        .first()
    )
    if stray is not None:
        return ChainReport(
            verified,
            0,
            f"event {stray.id} carries a seal past the recorded chain state "
            "(the chain state was rolled back or deleted)",
            stray.id,
            head=previous,
        )
    unsealed = await AuditEvent.filter(chain_filter(chain), id__gt=last_sealed).count()
    if state is not None and previous != state.last_chain_hash:
        return ChainReport(
            verified,
            unsealed,
            f"sealed events after id {last_checked or start} up to id {last_sealed} were removed",
            last_checked,
        )
    return ChainReport(verified, unsealed, head=previous)
