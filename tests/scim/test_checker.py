"""scim2-tester's compliance checker against a real `gql-portal serve` process.

The checker drives a synchronous scim2-client; scim2-client's own synchronous engine needs
httpx2, so a ten-line engine over httpx's Client stands in for it (the same methods)."""

import asyncio
import uuid
from pathlib import Path
from typing import Annotated, Any, cast

import httpx
import pytest
from scim2_client import BaseSyncSCIMClient
from scim2_client.client import RawResponse
from pydantic import Field
from scim2_models import Required, ScimProvider, Uniqueness, User
from scim2_tester import Status, check_server

from tests.database import TestDatabase
from tests.factories import make_domain
from tests.http.server_process import ServerProcess
from tests.scim.helpers import scim_token


class HttpxSyncSCIMClient(BaseSyncSCIMClient):
    def __init__(self, client: httpx.Client, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = client

    def _stays_under_base_url(self, endpoint: str) -> bool:
        url = self.client.build_request("GET", endpoint).url
        base = self.client.base_url
        return url.host == base.host and url.raw_path.startswith(base.raw_path)

    def _parse_json(self, response: RawResponse) -> Any:
        return cast(httpx.Response, response).json()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, url, **kwargs)


# Checks whose failure is a decision, not a defect (README, "SCIM provisioning"):
# the portal keeps only some User attributes, so a random value of another (nickName,
# title, phoneNumbers...) does not read back.
KNOWN = ("does not match", "not returned", "mismatch")


class PortalUser(User):
    """The portal's userName is an email address: the checker's random values are drawn
    from these examples (RFC 7643 allows a service provider its own userName rules)."""

    user_name: Annotated[
        str | None,
        Uniqueness.server,
        Required.true,
        Field(examples=[f"{uuid.uuid4().hex}@checker.example" for _ in range(100_000)]),
    ] = None


@pytest.fixture
def server(database: TestDatabase, tmp_path: Path) -> Any:
    process = ServerProcess(database, tmp_path / "serve.log")
    yield process
    process.stop()


async def test_scim2_tester_finds_no_protocol_error(server: ServerProcess) -> None:
    token = await scim_token(await make_domain())

    def run() -> list[Any]:
        with httpx.Client(
            base_url=f"{server.url}/scim/v2/",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ) as http:
            scim = HttpxSyncSCIMClient(http, provider=ScimProvider(models=[PortalUser]))
            return check_server(scim, resource_types=["User"])

    results = await asyncio.to_thread(run)
    assert results, "the checker ran no check"
    failures = [
        (result.title, result.reason)
        for result in results
        if result.status in (Status.ERROR, Status.CRITICAL)
    ]
    assert not failures, "\n".join(f"{title}: {reason}" for title, reason in failures)
