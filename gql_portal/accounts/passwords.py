"""Argon2id hashing, run in a bounded thread pool so it never blocks the event loop."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gql_portal.settings import get_settings

MAX_PASSWORD_LENGTH = 1024


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    settings = get_settings()
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        type=Type.ID,
    )


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=get_settings().password_hash_threads, thread_name_prefix="argon2"
    )


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash("timing equaliser for unknown accounts")


def _verify(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher().verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_pool(), _hasher().hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """Costs one hash whether or not ``stored_hash`` exists, so timing tells nothing."""
    return await asyncio.get_running_loop().run_in_executor(_pool(), _verify, stored_hash, password)


def reset_password_caches() -> None:
    for cached in (_hasher, _pool, _dummy_hash):
        cached.cache_clear()
