"""TOTP secrets at rest: encrypted, readable only with the configured keys, rotatable."""

import base64
import os
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from tortoise import connections

from gql_portal.crypto import EncryptionKeyError, decrypt_secret, encrypt_secret, reset_cipher
from gql_portal.settings import get_settings
from gql_portal.two_factor.models import TotpAuthenticator, TotpEnrollment
from tests.factories import code_for, make_domain, make_user
from tests.graphql import GraphQLClient
from tests.two_factor.helpers import (
    align_to_step_start,
    begin,
    enroll,
    login,
    pending_totp_token,
    verify,
)

KEYS_ENV = "GQL_PORTAL_ENCRYPTION_KEYS"


def _use_keys(value: str | None) -> None:
    if value is None:
        os.environ.pop(KEYS_ENV, None)
    else:
        os.environ[KEYS_ENV] = value
    get_settings.cache_clear()
    reset_cipher()


@pytest.fixture
def keys() -> Iterator[None]:
    saved = os.environ.get(KEYS_ENV)
    yield
    _use_keys(saved)


async def _raw_rows(table: str) -> list[dict[str, object]]:
    return list(await connections.get("default").execute_query_dict(f'SELECT * FROM "{table}"'))


def _plaintext_forms(secret: str) -> list[bytes]:
    """The secret as anyone might store it: its base32 text (either case), its raw bytes,
    their hex and their base64."""
    raw = base64.b32decode(secret)
    return [
        secret.encode(),
        secret.lower().encode(),
        raw,
        raw.hex().encode(),
        raw.hex().upper().encode(),
        base64.b64encode(raw),
        base64.urlsafe_b64encode(raw),
        base64.b64encode(raw).rstrip(b"="),
    ]


def _assert_no_plaintext(rows: list[dict[str, object]], secret: str) -> None:
    for row in rows:
        for column, value in row.items():
            stored = value if isinstance(value, bytes) else str(value).encode()
            for form in _plaintext_forms(secret):
                assert form not in stored, (column, form)


async def test_stored_secret_is_not_readable(client: GraphQLClient, keys: None) -> None:
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, two_factor_enabled=True)
    token = (await login(client, user.email))["token"]
    secret = (await begin(client, token))["secret"]
    pending_rows = await _raw_rows("totp_enrollments")
    assert len(pending_rows) == 1
    _assert_no_plaintext(pending_rows, secret)
    enrolled = await enroll(client, (await make_user(domain, two_factor_enabled=True)).email)
    rows = await _raw_rows("totp_authenticators")
    assert len(rows) == 1
    _assert_no_plaintext(rows, enrolled.secret)
    # The stored ciphertext decrypts with the portal's keys, and with no other key.
    ciphertext = str(rows[0]["secret_encrypted"])
    assert decrypt_secret(ciphertext) == enrolled.secret
    _use_keys(Fernet.generate_key().decode())
    with pytest.raises(EncryptionKeyError):
        decrypt_secret(ciphertext)


async def test_key_rotation_keeps_old_ciphertexts_readable(
    client: GraphQLClient, keys: None
) -> None:
    align_to_step_start()
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    _use_keys(old)
    domain = await make_domain(two_factor=True)
    user = await make_user(domain, two_factor_enabled=True)
    enrolled = await enroll(client, user.email)
    ciphertext = (await TotpAuthenticator.get(user_id=user.id)).secret_encrypted

    _use_keys(f"{new},{old}")
    assert decrypt_secret(ciphertext) == enrolled.secret
    pending = await pending_totp_token(client, user.email)
    assert (await verify(client, pending, code_for(enrolled.secret, steps_ahead=1))).ok()
    fresh = encrypt_secret("JBSWY3DPEHPK3PXP")
    assert Fernet(new.encode()).decrypt(fresh.encode()) == b"JBSWY3DPEHPK3PXP"
    other = await make_user(domain, two_factor_enabled=True)
    token = (await login(client, other.email))["token"]
    await begin(client, token)
    pending_secret = (await TotpEnrollment.get(user_id=other.id)).secret_encrypted
    Fernet(new.encode()).decrypt(pending_secret.encode())  # the first key encrypts

    _use_keys(new)
    with pytest.raises(EncryptionKeyError):
        decrypt_secret(ciphertext)
    _use_keys(f"{new},{old}")
    assert decrypt_secret(ciphertext) == enrolled.secret


async def test_bad_key_configuration_is_refused(keys: None) -> None:
    _use_keys("not-a-fernet-key")
    with pytest.raises(EncryptionKeyError):
        encrypt_secret("x")
