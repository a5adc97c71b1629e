"""Secrets at rest: MultiFernet, the first key encrypts and every key decrypts.

Typed identifiers that may be anything (an email field holding a password) are never
stored: ``keyed_identifier`` stores an HMAC under a key derived from the first key, so
rows correlate without the text. Rotating the first key changes every keyed identifier:
what was counted under the old one (login throttles, at most a lock window long) starts
again from zero, and old rows expire and are purged.
"""

import base64
import hashlib
import hmac
import logging
import os
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gql_portal.files import PRIVATE_FILE, private_dir, tighten
from gql_portal.settings import Settings, get_settings

log = logging.getLogger(__name__)
DEV_KEY_FILE = "encryption.key"


class EncryptionKeyError(RuntimeError):
    pass


def load_keys(settings: Settings) -> list[bytes]:
    if settings.encryption_keys:
        keys = [key.strip().encode() for key in settings.encryption_keys.split(",") if key.strip()]
        try:
            for key in keys:
                Fernet(key)
        except ValueError:
            raise EncryptionKeyError(
                "GQL_PORTAL_ENCRYPTION_KEYS holds a value that is not a Fernet key"
            ) from None
        if keys:
            return keys
    if settings.is_production:
        raise EncryptionKeyError("GQL_PORTAL_ENCRYPTION_KEYS is required in production")
    return [_development_key(settings)]


def _development_key(settings: Settings) -> bytes:
    path = settings.data_dir / DEV_KEY_FILE
    if path.exists():
        tighten(path, PRIVATE_FILE)
        return path.read_bytes().strip()
    private_dir(settings.data_dir)
    key = Fernet.generate_key()
    # O_EXCL: two processes starting at once must not write two different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    log.warning(
        "No GQL_PORTAL_ENCRYPTION_KEYS set: generated a development key in %s. "
        "Set GQL_PORTAL_ENCRYPTION_KEYS in production.",
        path,
    )
    return key


@lru_cache(maxsize=1)
def _cipher() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in load_keys(get_settings())])


def encrypt_secret(plaintext: str) -> str:
    return _cipher().encrypt(plaintext.encode()).decode()


def decrypt_secret(ciphertext: str) -> str:
    try:
        return _cipher().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise EncryptionKeyError(
            "A stored secret cannot be decrypted with the configured keys"
        ) from None


def reset_cipher() -> None:
    _cipher.cache_clear()
    _identifier_key.cache_clear()


# A key of its own (not the Fernet key itself): an HMAC output never helps against the cipher.
_IDENTIFIER_KEY_INFO = b"gql_portal keyed identifier v1"


@lru_cache(maxsize=1)
def _identifier_key() -> bytes:
    master = base64.urlsafe_b64decode(load_keys(get_settings())[0])
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_IDENTIFIER_KEY_INFO).derive(
        master
    )


def keyed_identifier(value: str) -> str:
    """HMAC-SHA256 (hex) of ``value``: equal values correlate, the text cannot be read back."""
    return hmac.new(_identifier_key(), value.encode(), hashlib.sha256).hexdigest()


def rotate_secret(ciphertext: str) -> str:
    """Re-encrypt with the first key (MultiFernet.rotate keeps the original timestamp)."""
    try:
        return _cipher().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise EncryptionKeyError(_no_key_decrypts(ciphertext)) from None


def key_fingerprint(key: bytes) -> str:
    """Names a key in messages and logs: a hash prefix, which never helps to recover it."""
    return "sha256:" + hashlib.sha256(key).hexdigest()[:12]


def _no_key_decrypts(ciphertext: str) -> str:
    settings = get_settings()
    keys = load_keys(settings)
    source = "GQL_PORTAL_ENCRYPTION_KEYS" if settings.encryption_keys else "the development key"
    tried = ", ".join(f"key {n} {key_fingerprint(key)}" for n, key in enumerate(keys, 1))
    advice = (
        "add the key it was encrypted with after the others (the key listed before the "
        "last rotation, or the development key file)"
    )
    dev_key = settings.data_dir / DEV_KEY_FILE
    if dev_key.exists() and dev_key.read_bytes().strip() not in keys:
        try:
            Fernet(dev_key.read_bytes().strip()).decrypt(ciphertext.encode())
        except (InvalidToken, ValueError):
            pass
        else:
            advice = (
                f"it decrypts with the development key in {dev_key} "
                f"({key_fingerprint(dev_key.read_bytes().strip())}): add that key last"
            )
    return (
        f"a stored secret decrypts with none of the {len(keys)} keys of {source} "
        f"({tried}): {advice}, then run the command again"
    )
