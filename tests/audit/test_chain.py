import asyncio
import hashlib
import os
import subprocess
import sys
from datetime import timedelta

from tortoise import connections

from gql_portal.accounts.models import Domain, PasswordSecurityRules
from gql_portal.audit.chain import (
    GENESIS,
    NO_DOMAIN,
    canonical_content,
    seal_all,
    seal_chain,
    verify_chain,
)
from gql_portal.audit.maintenance import AuditMaintenance
from gql_portal.audit.models import AuditChainState, AuditEvent, AuditRetentionCheckpoint
from gql_portal.audit.retention import purge_all
from gql_portal.clock import utcnow
from gql_portal.sql import execute
from tests.audit.helpers import fill_events, make_event
from tests.database import TestDatabase
from tests.factories import make_domain

NOW = timedelta(0)


async def _sql(statement: str, *values: object) -> int:
    return await execute(connections.get("default"), statement, list(values))


async def _events(domain: Domain) -> list[AuditEvent]:
    return await AuditEvent.filter(domain_id=domain.id).order_by("id")


async def test_sealing_chains_events_in_id_order(database: TestDatabase) -> None:
    domain = await make_domain()
    await fill_events(domain, 5)
    await make_event(domain, details={"b": [1, 2], "a": "é"})
    assert all(e.chain_hash is None for e in await _events(domain)), "writes never seal"
    assert await seal_chain(domain.id, settle=NOW) == 6
    events = await _events(domain)
    previous = GENESIS
    for event in events:
        assert event.content_hash == hashlib.sha256(canonical_content(event)).hexdigest()
        previous = hashlib.sha256((previous + event.content_hash).encode()).hexdigest()
        assert event.chain_hash == previous
    state = await AuditChainState.get(domain_id=domain.id)
    assert (state.last_sealed_id, state.last_chain_hash, state.sealed_count) == (
        events[-1].id,
        previous,
        6,
    )
    report = await verify_chain(domain.id)
    assert report.intact and report.verified == 6 and report.unsealed == 0
    assert await seal_chain(domain.id, settle=NOW) == 0


async def test_too_young_events_wait_for_the_next_round(database: TestDatabase) -> None:
    domain = await make_domain()
    old = await make_event(domain, occurred_at=utcnow() - timedelta(minutes=1))
    await make_event(domain)
    await make_event(domain, occurred_at=utcnow() - timedelta(minutes=1))
    # The second event is younger than the settle time: sealing stops there, in id order.
    assert await seal_chain(domain.id) == 1
    state = await AuditChainState.get(domain_id=domain.id)
    assert state.last_sealed_id == old.id
    assert (await verify_chain(domain.id)).unsealed == 2


async def test_an_update_in_the_database_is_detected(database: TestDatabase) -> None:
    domain = await make_domain()
    await fill_events(domain, 10)
    await seal_all(settle=NOW)
    victim = (await _events(domain))[4]
    await _sql("UPDATE audit_events SET outcome = 'SUCCESS' WHERE id = ?", victim.id)
    report = await verify_chain(domain.id)
    assert not report.intact and report.event_id == victim.id and report.verified == 4
    assert "altered" in (report.problem or "")


async def test_a_delete_in_the_middle_or_at_the_end_is_detected(database: TestDatabase) -> None:
    domain = await make_domain()
    await fill_events(domain, 10)
    await seal_all(settle=NOW)
    events = await _events(domain)
    await _sql("DELETE FROM audit_events WHERE id = ?", events[3].id)
    report = await verify_chain(domain.id)
    assert report.event_id == events[4].id and "removed" in (report.problem or "")
    await _sql("DELETE FROM audit_events WHERE id >= ?", events[3].id)
    report = await verify_chain(domain.id)
    assert not report.intact and report.verified == 3 and "removed" in (report.problem or "")


async def test_deleting_the_chain_state_does_not_launder_an_edit(database: TestDatabase) -> None:
    domain = await make_domain()
    await fill_events(domain, 6)
    await seal_all(settle=NOW)
    intact = await verify_chain(domain.id)
    assert intact.intact and intact.head is not None
    victim = (await _events(domain))[2]
    await _sql("DELETE FROM audit_chain_states WHERE domain_id = ?", domain.id)
    await _sql("UPDATE audit_events SET action = 'LOGOUT' WHERE id = ?", victim.id)
    report = await verify_chain(domain.id)
    assert not report.intact and "chain state" in (report.problem or "")
    # A sealer meeting sealed events past the state refuses to re-seal them.
    assert await seal_chain(domain.id, settle=NOW) == 0
    assert not (await verify_chain(domain.id)).intact


async def test_a_deleted_first_event_is_detected(database: TestDatabase) -> None:
    domain = await make_domain()
    await fill_events(domain, 3)
    await seal_all(settle=NOW)
    events = await _events(domain)
    await _sql("DELETE FROM audit_events WHERE id = ?", events[0].id)
    assert (await verify_chain(domain.id)).event_id == events[1].id


async def test_concurrent_sealers_seal_each_event_once(database: TestDatabase) -> None:
    domain = await make_domain()
    await fill_events(domain, 2000)
    results = await asyncio.gather(
        *(seal_chain(domain.id, settle=NOW, batch_size=150) for _ in range(4))
    )
    # Losers stop early; what is left is sealed by the next round, never twice.
    total = sum(results) + await seal_chain(domain.id, settle=NOW)
    assert total == 2000
    state = await AuditChainState.get(domain_id=domain.id)
    assert state.sealed_count == 2000
    report = await verify_chain(domain.id)
    assert report.intact and report.verified == 2000


async def test_events_without_a_domain_have_their_own_chain(database: TestDatabase) -> None:
    await make_event(None, action="LOGIN_FAILED", target_email="ghost@nowhere.example")
    await seal_all(settle=NOW)
    assert (await verify_chain(NO_DOMAIN)).verified == 1


async def test_the_in_process_task_seals_in_the_background(database: TestDatabase) -> None:
    domain = await make_domain()
    await make_event(domain, occurred_at=utcnow() - timedelta(minutes=1))
    maintenance = AuditMaintenance(seal_interval=0.05)
    maintenance.start()
    try:
        for _ in range(100):
            if await AuditEvent.filter(domain_id=domain.id, chain_hash__not_isnull=True).exists():
                break
            await asyncio.sleep(0.05)
    finally:
        await maintenance.stop()
    assert (await verify_chain(domain.id)).verified == 1


async def test_retention_deletes_old_events_and_keeps_the_chain_verifiable(
    database: TestDatabase,
) -> None:
    domain, keeper = await make_domain(), await make_domain()
    await PasswordSecurityRules.filter(domain_id=domain.id).update(audit_retention_days=30)
    await fill_events(domain, 50, start=utcnow() - timedelta(days=40))
    await fill_events(keeper, 5, start=utcnow() - timedelta(days=40))
    recent = [await make_event(domain, occurred_at=utcnow() - timedelta(days=n)) for n in (5, 1)]
    await seal_all(settle=NOW)
    before = (await verify_chain(domain.id)).verified
    assert before == 52
    assert await purge_all(settle=NOW) == 50
    assert [e.id for e in await _events(domain)] == [e.id for e in recent]
    assert await AuditEvent.filter(domain_id=keeper.id).count() == 5, "365 days by default"
    checkpoint = await AuditRetentionCheckpoint.get(domain_id=domain.id)
    assert checkpoint.deleted_count == 50 and checkpoint.last_deleted_id < recent[0].id
    report = await verify_chain(domain.id)
    assert report.intact and report.verified == 2
    # New events keep chaining after the deletion, and tampering is still caught.
    await make_event(domain, occurred_at=utcnow() - timedelta(minutes=1))
    await seal_all(settle=NOW)
    assert (await verify_chain(domain.id)).verified == 3
    await _sql("DELETE FROM audit_events WHERE id = ?", recent[0].id)
    assert (await verify_chain(domain.id)).event_id == recent[1].id


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gql_portal.cli", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )


async def test_cli_verify_reports_the_first_broken_event(database: TestDatabase) -> None:
    domain = await make_domain()
    await fill_events(domain, 4)
    ok = await asyncio.to_thread(_cli, "audit", "seal", "--domain", domain.name)
    assert ok.returncode == 0 and "sealed 4 events" in ok.stdout
    intact = await asyncio.to_thread(_cli, "audit", "verify", "--domain", domain.name)
    assert intact.returncode == 0 and "intact: 4 sealed events" in intact.stdout
    victim = (await _events(domain))[1]
    await _sql("UPDATE audit_events SET ip = '10.0.0.1' WHERE id = ?", victim.id)
    broken = await asyncio.to_thread(_cli, "audit", "verify", "--domain", domain.name)
    assert broken.returncode == 1
    assert broken.stderr.strip().count("\n") == 0
    assert f"event {victim.id} was altered" in broken.stderr
    missing = await asyncio.to_thread(_cli, "audit", "verify", "--domain", "nope.example")
    assert missing.returncode == 1 and "does not exist" in missing.stderr


async def test_the_worker_cron_jobs_seal_and_purge(database: TestDatabase) -> None:
    from workers.audit import purge_audit_events, seal_audit_chains
    from workers.settings import WorkerSettings

    names = {job.name for job in WorkerSettings.cron_jobs}
    assert {"cron:seal_audit_chains", "cron:purge_audit_events"} <= names
    domain = await make_domain()
    await PasswordSecurityRules.filter(domain_id=domain.id).update(audit_retention_days=1)
    await make_event(domain, occurred_at=utcnow() - timedelta(days=3))
    kept = await make_event(domain, occurred_at=utcnow() - timedelta(minutes=1))
    assert await seal_audit_chains({}) == 2
    assert await purge_audit_events({}) == 1
    assert [e.id for e in await _events(domain)] == [kept.id]
    assert (await verify_chain(domain.id)).verified == 1
