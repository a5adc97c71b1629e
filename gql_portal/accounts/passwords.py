"""Argon2id hashing, run in a bounded thread pool so it never blocks the event loop."""

import asyncio
import os
import threading
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


# Hashing threads run 10 nicer than the event loop: when both want the same core, requests
# go first and a login waits a little longer (bench/README.md, 7.4).
HASHING_NICENESS = 10


def _lower_priority() -> None:
    """Thread initializer: on Linux a thread has its own niceness (setpriority on its id);
    raising it needs no privilege. Elsewhere the threads keep the default priority."""
    try:
        thread = threading.get_native_id()
        nice = os.getpriority(os.PRIO_PROCESS, thread) + HASHING_NICENESS
        os.setpriority(os.PRIO_PROCESS, thread, min(nice, 19))
    except (AttributeError, OSError):
        pass


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=get_settings().password_hash_threads,
        thread_name_prefix="argon2",
        initializer=_lower_priority,
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
