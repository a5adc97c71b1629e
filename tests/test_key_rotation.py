import os
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet

from gql_portal.crypto import EncryptionKeyError, decrypt_secret, encrypt_secret, reset_cipher
from gql_portal.settings import get_settings
from gql_portal.two_factor.models import TotpAuthenticator
from gql_portal.two_factor.rotation import rotate_encryption_keys
from tests.database import TestDatabase
from tests.factories import make_domain, make_user


@pytest.fixture
def use_keys() -> Iterator[object]:
    saved = os.environ.get("GQL_PORTAL_ENCRYPTION_KEYS")

    def use(*keys: bytes) -> None:
        os.environ["GQL_PORTAL_ENCRYPTION_KEYS"] = ",".join(key.decode() for key in keys)
        get_settings.cache_clear()
        reset_cipher()

    yield use
    if saved is None:
        os.environ.pop("GQL_PORTAL_ENCRYPTION_KEYS", None)
    else:
        os.environ["GQL_PORTAL_ENCRYPTION_KEYS"] = saved
    get_settings.cache_clear()
    reset_cipher()


async def test_rotation_lets_the_old_key_go(database: TestDatabase, use_keys) -> None:  # type: ignore[no-untyped-def]
    old, new = Fernet.generate_key(), Fernet.generate_key()
    domain = await make_domain()
    users = [await make_user(domain) for _ in range(3)]
    use_keys(old)
    for user in users:
        await TotpAuthenticator.create(
            user_id=user.id,
            secret_encrypted=encrypt_secret("JBSWY3DPEHPK3PXP"),
            confirmed_at=user.created_at,
        )
    use_keys(new, old)
    stored_before = set(await TotpAuthenticator.all().values_list("secret_encrypted", flat=True))
    assert await rotate_encryption_keys() == 3
    use_keys(new)
    rows = await TotpAuthenticator.all()
    assert {decrypt_secret(row.secret_encrypted) for row in rows} == {"JBSWY3DPEHPK3PXP"}
    assert not stored_before & {row.secret_encrypted for row in rows}
    use_keys(old)
    with pytest.raises(EncryptionKeyError):
        decrypt_secret(rows[0].secret_encrypted)
