"""Concurrent beginTotpEnrollment calls for one user (two tabs, a double click, a script)."""

import asyncio

from gql_portal.audit.models import AuditAction, AuditEvent
from gql_portal.crypto import decrypt_secret
from gql_portal.two_factor.models import TotpEnrollment
from tests.factories import code_for, make_domain, make_user, secret_from_uri
from tests.graphql import GraphQLClient
from tests.two_factor.helpers import BEGIN, CONFIRM, login

CALLS = 10


async def test_concurrent_begins_answer_and_the_last_secret_stands(client: GraphQLClient) -> None:
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, two_factor_enabled=True)
    pending = (await login(client, user.email))["token"]

    # Each call in its own transaction on its own pooled connection (PostgreSQL): all read
    # "no enrollment yet" and insert; the unique user_id refused all but one as a 500.
    results = await asyncio.gather(*(client.execute(BEGIN, token=pending) for _ in range(CALLS)))

    assert [result.errors for result in results] == [[]] * CALLS
    secrets = {secret_from_uri(r.data["beginTotpEnrollment"]["otpauthUri"]) for r in results}
    assert len(secrets) == CALLS
    stored = await TotpEnrollment.filter(user_id=user.id)
    assert len(stored) == 1
    standing = decrypt_secret(stored[0].secret_encrypted)
    assert standing in secrets
    started = await AuditEvent.filter(
        action=AuditAction.TOTP_ENROLLMENT_STARTED.value, target_id=user.id
    ).count()
    assert started == CALLS  # every answered success has its event

    # The secret that stands is the one the enrollment confirms with.
    confirmed = await client.execute(CONFIRM, {"code": code_for(standing)}, token=pending)
    assert confirmed.ok()["confirmTotpEnrollment"]["status"] == "AUTHENTICATED"
