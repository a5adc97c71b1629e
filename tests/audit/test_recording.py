import pytest

from gql_portal.api.client_ip import client_ip
from gql_portal.audit.models import AuditAction, AuditEvent, AuditOutcome
from gql_portal.audit.services import record_audit_event
from gql_portal.request_meta import RequestMeta
from tests.database import TestDatabase
from tests.factories import make_domain, make_user
from tests.graphql import LOGIN, GraphQLClient

PROXIES = ["10.0.0.0/8", "2001:db8::/32"]


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.7", None, "203.0.113.7"),
        # An untrusted peer cannot choose its address with the header.
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),
        ("10.1.2.3", "198.51.100.1", "198.51.100.1"),
        # The client prepends a forged hop: the first untrusted one from the right wins.
        ("10.1.2.3", "1.2.3.4, 198.51.100.1, 10.9.9.9", "198.51.100.1"),
        ("2001:db8::1", "2001:db8::2, 198.51.100.8", "198.51.100.8"),
        ("10.1.2.3", "10.2.2.2, 10.3.3.3", "10.2.2.2"),
        ("10.1.2.3", " , ", "10.1.2.3"),
        (None, "198.51.100.1", None),
    ],
)
def test_client_ip_believes_forwarded_for_only_from_trusted_proxies(
    peer: str | None, forwarded: str | None, expected: str | None
) -> None:
    assert client_ip(peer, forwarded, PROXIES) == expected


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_ip("10.1.2.3", "198.51.100.1", []) == "10.1.2.3"


def test_a_forwarded_address_is_cut_to_the_column_size() -> None:
    assert client_ip("10.1.2.3", "x" * 100, PROXIES) == "x" * 45


async def test_nul_characters_never_fail_the_write(database: TestDatabase) -> None:
    domain = await make_domain()
    await record_audit_event(
        action=AuditAction.LOGIN_FAILED,
        outcome=AuditOutcome.FAILURE,
        meta=RequestMeta(ip="198.51.100.1", user_agent="bot\x00", request_id="r\x00"),
        domain_id=domain.id,
        target_email="a\x00@b.example",
        details={"k\x00": ["v\x00"]},
    )
    stored = await AuditEvent.get(domain_id=domain.id, action="LOGIN_FAILED")
    assert stored.target_email == "a\ufffd@b.example" and stored.user_agent == "bot\ufffd"
    assert stored.details == {"k\ufffd": ["v\ufffd"]}


async def test_login_events_keep_ip_agent_request_id_and_emails(client: GraphQLClient) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    headers = {"User-Agent": "pytest-agent", "X-Request-ID": "req-12345678"}
    await client.execute(
        LOGIN, {"email": user.email, "password": "wrong-password!"}, headers=headers
    )
    event = await AuditEvent.get(action="LOGIN_FAILED", target_id=user.id)
    assert (event.ip, event.user_agent, event.request_id) == (
        "203.0.113.7",
        "pytest-agent",
        "req-12345678",
    )
    assert event.target_email == user.email and event.domain_id == domain.id
    assert event.outcome == "FAILURE"
    assert "wrong-password!" not in str(event.details)
