import asyncio
import os

from argon2 import PasswordHasher

from gql_portal.accounts import passwords
from gql_portal.settings import Settings, get_settings


def test_defaults_meet_owasp_argon2id_minimum() -> None:
    settings = Settings(_env_file=None, argon2_memory_kib=19_456, argon2_time_cost=2)
    defaults = Settings.model_fields
    assert defaults["argon2_memory_kib"].default >= 19_456
    assert defaults["argon2_time_cost"].default >= 2
    assert defaults["argon2_parallelism"].default == 1
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    assert hasher.hash("x").startswith("$argon2id$v=19$m=19456,t=2,p=1$")


async def test_hashing_runs_off_the_event_loop_at_real_cost() -> None:
    saved = {
        k: os.environ.pop(k, None)
        for k in ("GQL_PORTAL_ARGON2_MEMORY_KIB", "GQL_PORTAL_ARGON2_TIME_COST")
    }
    get_settings.cache_clear()
    passwords.reset_password_caches()
    try:
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
    finally:
        for key, value in saved.items():
            if value is not None:
                os.environ[key] = value
        get_settings.cache_clear()
        passwords.reset_password_caches()


async def test_unknown_hash_never_verifies() -> None:
    assert not await passwords.verify_password(None, "anything")
    assert not await passwords.verify_password("not-a-hash", "anything")


async def test_hashing_threads_yield_the_cpu_to_the_event_loop() -> None:
    if not hasattr(os, "getpriority"):
        return  # only Linux gives threads their own niceness
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
