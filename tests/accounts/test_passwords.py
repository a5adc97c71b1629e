import asyncio
import os
import sys
from collections.abc import Iterator

import pytest
from argon2 import Type, extract_parameters

from gql_portal.accounts import passwords
from gql_portal.settings import get_settings

COST_VARIABLES = ("GQL_PORTAL_ARGON2_MEMORY_KIB", "GQL_PORTAL_ARGON2_TIME_COST")


@pytest.fixture
def real_cost() -> Iterator[None]:
    """The hasher as deployed: the tests' cheap argon2 settings (conftest.py) removed."""
    saved = {name: os.environ.pop(name, None) for name in COST_VARIABLES}
    get_settings.cache_clear()
    passwords.reset_password_caches()
    yield
    for name, value in saved.items():
        if value is not None:
            os.environ[name] = value
    get_settings.cache_clear()
    passwords.reset_password_caches()


async def test_our_hashes_meet_the_owasp_argon2id_minimum(real_cost: None) -> None:
    # Read back from a hash the portal produced: what its hasher really uses.
    parameters = extract_parameters(await passwords.hash_password("correct horse"))
    assert parameters.type is Type.ID
    assert parameters.version == 19
    # OWASP Password Storage Cheat Sheet: argon2id with m >= 19 MiB, t >= 2, p = 1.
    assert parameters.memory_cost >= 19 * 1024
    assert parameters.time_cost >= 2
    assert parameters.parallelism == 1
    assert parameters.salt_len >= 16 and parameters.hash_len >= 32


async def test_hashing_runs_off_the_event_loop_at_real_cost(real_cost: None) -> None:
    finished: list[str] = []

    async def hashing() -> None:
        stored = await passwords.hash_password("correct horse battery staple")
        assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert await passwords.verify_password(stored, "correct horse battery staple")
        assert not await passwords.verify_password(stored, "wrong")
        finished.append("hash")

    async def ticking() -> None:
        for _ in range(3):
            await asyncio.sleep(0)
        finished.append("tick")

    await asyncio.gather(hashing(), ticking())
    # Had the hash run on the loop, the ticker could not have finished first.
    assert finished == ["tick", "hash"]


async def test_unknown_hash_never_verifies() -> None:
    assert not await passwords.verify_password(None, "anything")
    assert not await passwords.verify_password("not-a-hash", "anything")


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="only Linux gives each thread its own niceness"
)
async def test_hashing_threads_yield_the_cpu_to_the_event_loop() -> None:
    loop = asyncio.get_running_loop()

    def niceness() -> tuple[bool, int]:
        import threading

        return (
            threading.current_thread() is not threading.main_thread(),
            os.getpriority(os.PRIO_PROCESS, threading.get_native_id()),
        )

    in_pool, nice = await loop.run_in_executor(passwords._pool(), niceness)
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert in_pool and nice == min(base + passwords.HASHING_NICENESS, 19)
    # The event loop's own thread keeps its priority.
    assert base < nice or base == 19
