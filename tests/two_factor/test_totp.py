"""RFC 6238 Appendix B through the project's TOTP module, and its acceptance window."""

import base64
from datetime import UTC, datetime, timedelta

import pytest

from gql_portal.two_factor import totp
from tests.two_factor.helpers import MALFORMED_CODES

SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
# (unix time, sha1, sha256, sha512) from RFC 6238 Appendix B
VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("seconds", "sha1", "sha256", "sha512"), VECTORS)
def test_rfc6238_appendix_b(seconds: int, sha1: str, sha256: str, sha512: str) -> None:
    step = seconds // 30
    for digest, expected in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
        secret = base64.b32encode(SEEDS[digest]).decode()
        assert totp.code_at_step(secret, step, digits=8, digest=digest) == expected


def test_time_step_is_thirty_seconds() -> None:
    assert totp.time_step(datetime.fromtimestamp(59, UTC)) == 1
    assert totp.time_step(datetime.fromtimestamp(1111111109, UTC)) == 37037036


# A fixed secret and instant whose codes two steps away differ from the three accepted
# ones (asserted below), so "no further" is checked every time, not only when random codes
# happen to differ.
WINDOW_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
WINDOW_AT = datetime.fromtimestamp(1_700_000_015, UTC)


def test_code_accepted_one_step_either_side_and_no_further() -> None:
    step = totp.time_step(WINDOW_AT)
    accepted = {offset: totp.code_at_step(WINDOW_SECRET, step + offset) for offset in (-1, 0, 1)}
    assert len(set(accepted.values())) == 3
    for offset, code in accepted.items():
        assert totp.matching_step(WINDOW_SECRET, code, WINDOW_AT) == step + offset
    for offset in (-3, -2, 2, 3):
        code = totp.code_at_step(WINDOW_SECRET, step + offset)
        assert code not in accepted.values()
        assert totp.matching_step(WINDOW_SECRET, code, WINDOW_AT) is None
    # The window moves with the time: the code two steps ahead is accepted a step later.
    later = totp.code_at_step(WINDOW_SECRET, step + 2)
    assert totp.matching_step(WINDOW_SECRET, later, WINDOW_AT + timedelta(seconds=30)) == step + 2


@pytest.mark.parametrize("code", [*MALFORMED_CODES, "\u0661\u0662\u0663\u0664\u0665\u0666"])
def test_only_six_ascii_digits_are_well_formed(code: str) -> None:
    assert not totp.is_well_formed_code(code)
    secret = totp.new_secret()
    assert totp.matching_step(secret, code, datetime.now(UTC)) is None


def test_full_width_digits_of_the_right_code_do_not_match() -> None:
    secret = totp.new_secret()
    at = datetime.now(UTC)
    code = totp.code_at_step(secret, totp.time_step(at))
    full_width = code.translate(
        str.maketrans("0123456789", "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19")
    )
    assert totp.matching_step(secret, code, at) is not None
    assert totp.matching_step(secret, full_width, at) is None


def test_new_secret_is_160_bits_of_base32() -> None:
    secret = totp.new_secret()
    assert len(base64.b32decode(secret)) == 20
    assert secret != totp.new_secret()
