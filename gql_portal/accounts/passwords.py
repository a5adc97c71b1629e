"""Argon2id hashing, run in a bounded thread pool so it never blocks the event loop.

Logins also wait in a bounded queue: a login takes a place (``hashing_place``) before
anything is counted, and when every thread is busy and ``password_hash_queue`` logins wait
already, it is refused at once instead of queueing a legitimate login behind a burst.
"""

import asyncio
import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gql_portal.errors import TooManyAttemptsError
from gql_portal.metrics import LOGIN_FAILURES_UNAUDITED, PASSWORD_VERIFICATIONS
from gql_portal.settings import get_settings

MAX_PASSWORD_LENGTH = 1024
# Every login verifies exactly this many hashes, padded with the dummy hash: an email that
# exists in two domains costs what one that exists once, or not at all, costs. Two keeps
# "the password picks the account" for an email in two domains; in three or more only the
# two oldest accounts can sign in with a password. Each more costs every login one hash.
VERIFICATIONS_PER_LOGIN = 2


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
    """None (no account) and "" (an invited user without a password, or a deactivated
    one) verify the dummy hash, for the same cost, and never match."""
    PASSWORD_VERIFICATIONS.inc()
    try:
        return _hasher().verify(stored_hash or _dummy_hash(), password) and bool(stored_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _first_match(stored_hashes: Sequence[str | None], password: str) -> int | None:
    # Every hash is verified, also after a match: the count never depends on the accounts.
    matches = [_verify(stored, password) for stored in stored_hashes]
    return matches.index(True) if True in matches else None


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_pool(), _hasher().hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """Costs one hash whether or not ``stored_hash`` exists, so timing tells nothing."""
    return await asyncio.get_running_loop().run_in_executor(_pool(), _verify, stored_hash, password)


async def verify_login_password(stored_hashes: Sequence[str | None], password: str) -> int | None:
    """The index of the first of ``stored_hashes`` that ``password`` matches, or None.

    Always ``VERIFICATIONS_PER_LOGIN`` verifications in one thread job, whatever the number
    of hashes (those past it are not checked): the time tells nothing about the accounts.
    """
    padded: list[str | None] = [*stored_hashes[:VERIFICATIONS_PER_LOGIN]]
    padded += [None] * (VERIFICATIONS_PER_LOGIN - len(padded))
    return await asyncio.get_running_loop().run_in_executor(_pool(), _first_match, padded, password)


class _HashingQueue:
    """Logins holding a place: those hashing plus those waiting for a thread.

    Only the event loop's thread takes and gives places, with no await in between: a plain
    counter is exact. Per process, like the pool it bounds.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.taken = 0


@lru_cache(maxsize=1)
def _queue() -> _HashingQueue:
    settings = get_settings()
    return _HashingQueue(settings.password_hash_threads + settings.password_hash_queue)


def hashing_places_taken() -> int:
    return _queue().taken


@contextlib.contextmanager
def hashing_place() -> Iterator[None]:
    """Hold a place in the hashing queue, or raise TOO_MANY_ATTEMPTS (retry in 1 s) at once."""
    queue = _queue()
    if queue.taken >= queue.capacity:
        LOGIN_FAILURES_UNAUDITED.labels(reason="hashing_queue_full").inc()
        raise TooManyAttemptsError(1)
    queue.taken += 1
    try:
        yield
    finally:
        queue.taken -= 1


def reset_password_caches() -> None:
    for cached in (_hasher, _pool, _dummy_hash, _queue):
        cached.cache_clear()
