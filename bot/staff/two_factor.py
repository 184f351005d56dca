"""Two-factor sign-in's codes: TOTP (RFC 6238, through pyotp) and recovery codes.

A TOTP code is six digits worked out from a shared secret and the current
30-second step; a code of the step before or after is taken too, for a
device's clock that is a little off, but never a step at or before the last
one taken (`queries.take_totp_step`), so a code works once. Recovery codes
are 80 random bits each, shown once and stored as SHA-256 hashes.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import time

import pyotp

ISSUER = "Hotline console"
STEP_SECONDS = 30
# Steps either side of the current one whose codes are taken.
DRIFT_STEPS = 1
RECOVERY_CODES = 10


def new_secret() -> str:
    """160 random bits, base32 (what authenticator apps are given)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
        name=username, issuer_name=ISSUER
    )


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def is_totp_code(code: str) -> bool:
    cleaned = code.replace(" ", "")
    return len(cleaned) == 6 and cleaned.isascii() and cleaned.isdigit()


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The step, near now, whose code this is; None if none."""
    code = code.replace(" ", "")
    if not is_totp_code(code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    step = current_step(now)
    found = None
    # Every candidate is compared, in constant time, whatever matches.
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            found = candidate
    return found


def new_recovery_codes() -> list[str]:
    """Ten codes like `k3m9-q2xa-7hpd-wz4e` (80 random bits each)."""
    codes = []
    for _ in range(RECOVERY_CODES):
        text = base64.b32encode(secrets.token_bytes(10)).decode().lower()
        codes.append("-".join(text[i : i + 4] for i in range(0, 16, 4)))
    return codes


def normal_recovery_code(code: str) -> str:
    """As stored: lower case, in groups of four, whatever spaces or dashes were typed."""
    text = "".join(c for c in code.lower() if c.isalnum())[:16]
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))
