import asyncio
import io

import pytest
from redis.asyncio import Redis

from gql_portal.accounts.models import Role, User
from gql_portal.accounts.services import get_domain_by_name
from gql_portal.bulk.command import NO_WORKER, bulk_enable
from gql_portal.bulk.models import BulkJob
from gql_portal.errors import NotFoundError
from gql_portal.settings import get_settings
from tests.bulk.helpers import make_many_users
from tests.conftest import TEST_REDIS_URL
from tests.factories import make_domain

pytestmark = pytest.mark.usefixtures("database")


async def test_bulk_enable_for_operators(capsys: pytest.CaptureFixture[str]) -> None:
    domain = await make_domain(two_factor=True)
    users = await make_many_users(domain, 1500)
    admins = await make_many_users(domain, 5, roles=[Role.SYSTEM_ADMIN], prefix="adm")
    out = io.StringIO()
    assert await bulk_enable(domain_name=domain.name, roles=[Role.USER], dry_run=True, out=out) == 0
    assert "1,500 users selected" in capsys.readouterr().out
    assert not await User.filter(two_factor_enabled=True).exists()
    code = await bulk_enable(domain_name=domain.name, roles=[Role.USER], dry_run=False, out=out)
    assert code == 0
    assert "SUCCEEDED: 1,500 enabled, 0 already enabled" in capsys.readouterr().out
    assert "1,500/1,500" in out.getvalue()
    assert await User.filter(id__in=users, two_factor_enabled=True).count() == 1500
    assert not await User.filter(id__in=admins, two_factor_enabled=True).exists()
    job = await BulkJob.get(domain_id=domain.id, dry_run=False)
    assert job.requested_by_id is None and job.status == "SUCCEEDED"
    with pytest.raises(NotFoundError):
        await bulk_enable(domain_name="missing.example", roles=None, dry_run=False, out=out)


@pytest.mark.skipif(TEST_REDIS_URL is None, reason="GQL_PORTAL_TEST_REDIS_URL is not set")
async def test_bulk_enable_says_when_no_worker_is_alive(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    redis = Redis.from_url(TEST_REDIS_URL or "")
    await redis.flushdb()
    await redis.aclose()
    monkeypatch.setenv("GQL_PORTAL_REDIS_URL", TEST_REDIS_URL or "")
    get_settings.cache_clear()
    domain = await make_domain(two_factor=True)
    await make_many_users(domain, 10)
    out = io.StringIO()
    running = asyncio.create_task(
        bulk_enable(domain_name=domain.name, roles=[Role.USER], dry_run=False, out=out)
    )
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while NO_WORKER not in out.getvalue():
            assert asyncio.get_running_loop().time() < deadline, out.getvalue()
            await asyncio.sleep(0.05)
        assert "run by a worker" in out.getvalue()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        monkeypatch.delenv("GQL_PORTAL_REDIS_URL")
        get_settings.cache_clear()


async def test_bulk_enable_finds_the_domain_as_the_other_commands_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    domain = await make_domain("Acme-Bulk.Example", two_factor=True)
    await make_many_users(domain, 3)
    out = io.StringIO()
    for typed in ("acme-bulk.example", "  ACME-Bulk.Example\t", "\nacme-bulk.EXAMPLE "):
        assert await get_domain_by_name(typed) == domain  # create-user's and audit's lookup
        assert await bulk_enable(domain_name=typed, roles=None, dry_run=True, out=out) == 0
        assert "3 users selected in acme-bulk.example" in capsys.readouterr().out
    with pytest.raises(NotFoundError):
        await bulk_enable(domain_name="acme-bulk.example.", roles=None, dry_run=True, out=out)
