"""Re-encrypt every stored TOTP secret with the first configured key."""

from tortoise.transactions import in_transaction

from gql_portal.crypto import EncryptionKeyError, rotate_secret
from gql_portal.two_factor.models import TotpAuthenticator, TotpEnrollment

BATCH = 500


async def rotate_encryption_keys() -> int:
    """After this, keys other than the first may be removed from ENCRYPTION_KEYS."""
    rotated = 0
    model: type[TotpAuthenticator] | type[TotpEnrollment]
    for model in (TotpAuthenticator, TotpEnrollment):
        rotated += await _rotate(model)
    return rotated


async def _rotate(model: type[TotpAuthenticator] | type[TotpEnrollment]) -> int:
    rotated, last_id = 0, 0
    while True:
        async with in_transaction() as connection:
            rows: list[TotpAuthenticator] | list[TotpEnrollment] = (
                await model.filter(id__gt=last_id)
                .order_by("id")
                .limit(BATCH)
                .select_for_update()
                .using_db(connection)
            )
            for row in rows:
                try:
                    rotated_secret = rotate_secret(row.secret_encrypted)
                except EncryptionKeyError as error:
                    raise EncryptionKeyError(
                        f"{model.__name__} {row.pk}: {error} (the batches before it are "
                        "re-encrypted and stay readable; rotate-keys is safe to run again)"
                    ) from None
                await (
                    model.filter(id=row.pk)
                    .using_db(connection)
                    .update(secret_encrypted=rotated_secret)
                )
        if not rows:
            return rotated
        rotated += len(rows)
        last_id = rows[-1].pk
