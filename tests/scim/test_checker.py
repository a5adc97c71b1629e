"""scim2-tester's compliance checker against a real `gql-portal serve` process.

The checker drives a synchronous scim2-client; scim2-client's own synchronous engine needs
httpx2, so a ten-line engine over httpx's Client stands in for it (the same methods)."""

import asyncio
import re
import uuid
from pathlib import Path
from typing import Annotated, Any, cast

import httpx
import pytest
from pydantic import Field
from scim2_client import BaseSyncSCIMClient
from scim2_client.client import RawResponse
from scim2_models import Required, Role, ScimProvider, Uniqueness, User
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


# What the checker reports that is a decision, not a defect (README, "SCIM provisioning"):
# - the portal keeps only userName (= the email), displayName/name.formatted, active, roles
#   and externalId: a random nickName, title, phoneNumbers... does not read back, and
#   neither do name's parts or a second email;
# - roles are the four role names: the checker's random role values are refused;
# - DELETE deactivates (CONTRACT section 10): the user still exists afterwards;
# - a role keeps only its value (no display, type, primary), and name mirrors displayName
#   and emails the userName (removing them leaves them); every user is active or not and
#   holds USER at least.
UNSTORED = re.compile(r"returned unexpected value for '(\w+)'")
# Always there: name mirrors displayName, emails the userName, active and roles (USER).
KEPT = re.compile(r"did not remove attribute '(name|emails|active|roles)'")
STORED = {"userName", "displayName", "active", "externalId"}


def is_decision(reason: str) -> bool:
    if "is not one of USER, SECURITY_ADMIN, SYSTEM_ADMIN, AUDITOR" in reason:
        return True
    if "still exists after deletion" in reason:
        return True
    if KEPT.search(reason):
        return True
    unstored = UNSTORED.search(reason)
    return unstored is not None and unstored.group(1) not in STORED


class PortalRole(Role):
    value: Annotated[str | None, Field(examples=["USER", "AUDITOR"])] = None


class PortalUser(User):
    """The portal's userName is an email address and its roles the four role names: the
    checker's random values are drawn from these examples (RFC 7643 leaves both rules to
    the service provider)."""

    roles: list[PortalRole] | None = None

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
    failed = [result for result in results if result.status in (Status.ERROR, Status.CRITICAL)]
    defects = [
        f"{result.title}: {result.reason}"
        for result in failed
        if not is_decision(str(result.reason))
    ]
    assert not defects, "\n".join(defects)
    passed = {result.title for result in results if result.status is Status.SUCCESS}
    # Discovery, the methods each endpoint allows, creation, reads, search, random URLs.
    for title in (
        "service_provider_config_endpoint",
        "service_provider_config_endpoint_methods",
        "query_all_resource_types",
        "query_resource_type_by_id",
        "resource_types_endpoint_methods",
        "query_all_schemas",
        "access_schema_by_id",
        "schemas_endpoint_methods",
        "object_creation",
        "object_query",
        "object_query_without_id",
        "object_replacement",
        "object_query_with_attributes",
        "search_with_attributes",
        "random_url",
    ):
        assert title in passed, (title, sorted(passed))
