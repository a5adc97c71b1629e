"""Recovery codes: 10 per set, 80 bits each, stored as SHA-256 hashes, used once; a new set
for a current TOTP code."""

import hashlib
import re
import secrets
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from gql_portal.accounts.sessions import Viewer
from gql_portal.audit.models import AuditAction
from gql_portal.audit.services import record_audit_event
from gql_portal.errors import BadUserInputError
from gql_portal.notifications import notices
from gql_portal.request_meta import RequestMeta
from gql_portal.two_factor.attempt import (
    code_attempt,
    require_code,
    totp_check,
)
from gql_portal.two_factor.models import RecoveryCode

CODES_PER_SET = 10
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed by hand
GROUPS, GROUP_LENGTH = 4, 4  # 16 symbols of 31: 79 bits
_WELL_FORMED = re.compile(rf"[{ALPHABET}]{{{GROUPS * GROUP_LENGTH}}}")


def new_code() -> str:
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_LENGTH))
    return "-".join(symbols[i : i + GROUP_LENGTH] for i in range(0, len(symbols), GROUP_LENGTH))


def normalize(code: str) -> str | None:
    """Hyphens, spaces and case are forgiven; anything else is malformed (None)."""
    if len(code) > 64:
        return None
    compact = code.replace("-", "").replace(" ", "").lower()
    return compact if _WELL_FORMED.fullmatch(compact) else None


def hash_code(normalized: str) -> str:
    return hashlib.sha256(normalized.encode()).hexdigest()


async def replace_codes(user_id: int, now: datetime, connection: BaseDBAsyncClient) -> list[str]:
    codes = [new_code() for _ in range(CODES_PER_SET)]
    await RecoveryCode.filter(user_id=user_id).using_db(connection).delete()
    await RecoveryCode.bulk_create(
        [
            RecoveryCode(
                user_id=user_id, code_hash=hash_code(normalize(code) or ""), created_at=now
            )
            for code in codes
        ],
        using_db=connection,
    )
    return codes


async def use_code(
    user_id: int, normalized: str, now: datetime, connection: BaseDBAsyncClient
) -> bool:
    """Atomic: of two concurrent uses of one code, exactly one updates the row."""
    used = (
        await RecoveryCode.filter(user_id=user_id, code_hash=hash_code(normalized), used_at=None)
        .using_db(connection)
        .update(used_at=now)
    )
    return used == 1


async def remaining(user_id: int, connection: BaseDBAsyncClient | None = None) -> int:
    return await RecoveryCode.filter(user_id=user_id, used_at=None).using_db(connection).count()


async def regenerate_recovery_codes(*, viewer: Viewer, code: str, meta: RequestMeta) -> list[str]:
    require_code(code)
    if not viewer.enrolled:
        raise BadUserInputError("No authenticator is enrolled")
    user = viewer.user
    codes: list[str] = []

    async def succeed(now: datetime, connection: BaseDBAsyncClient) -> None:
        codes.extend(await replace_codes(user.id, now, connection))
        await record_audit_event(
            using_db=connection,
            action=AuditAction.RECOVERY_CODES_REGENERATED,
            meta=meta,
            actor=user,
            target=user,
        )
        await notices.recovery_codes_regenerated(user, meta, connection)

    await code_attempt(
        viewer=viewer,
        operation="regenerateRecoveryCodes",
        meta=meta,
        check=totp_check(code),
        succeed=succeed,
    )
    return codes
