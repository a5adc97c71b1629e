import io

import pytest

from gql_portal.accounts.models import Role, User
from gql_portal.bulk.command import bulk_enable
from gql_portal.bulk.models import BulkJob
from gql_portal.errors import NotFoundError
from tests.bulk.helpers import make_many_users
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
