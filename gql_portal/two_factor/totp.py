"""TOTP (RFC 6238) and its QR codes: pure functions, no database, no clock of their own."""

import hashlib
import hmac
import re
from datetime import datetime

import pyotp
import segno

STEP_SECONDS = 30
DIGITS = 6
SECRET_BYTES = 20  # 160 bits, the RFC 4226 recommendation
_CODE = re.compile(r"[0-9]{6}", re.ASCII)


def is_well_formed_code(code: str) -> bool:
    """Exactly six ASCII digits: pyotp would NFKC-normalise full-width digits into a match."""
    return _CODE.fullmatch(code) is not None


def new_secret() -> str:
    return pyotp.random_base32(length=SECRET_BYTES * 8 // 5)


def time_step(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def code_at_step(secret: str, step: int, *, digits: int = DIGITS, digest: str = "sha1") -> str:
    return pyotp.TOTP(secret, digits=digits, digest=getattr(hashlib, digest)).generate_otp(step)


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step whose code equals ``code``, within one step either side of ``at``."""
    if not is_well_formed_code(code):
        return None
    current = time_step(at)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(code_at_step(secret, step), code):
            return step
    return None


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """Google Authenticator key URI: otpauth://totp/Issuer:account?secret=...&issuer=Issuer."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer
    )


def qr_code_svg_data_uri(uri: str) -> str:
    # make_qr, never make: make() may choose a Micro QR that phone apps cannot read.
    return str(segno.make_qr(uri, error="m").svg_data_uri(scale=4))


def qr_code_png_data_uri(uri: str) -> str:
    return str(segno.make_qr(uri, error="m").png_data_uri(scale=6))
