"""Signing webhook bodies, and the check a receiver runs. Pure functions, no I/O.

The signature is `sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>`, sent in
`X-Wildflag-Signature` beside `X-Wildflag-Timestamp` (Unix seconds). Signing the timestamp
with the body lets a receiver refuse replays of an old, validly signed request.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_PREFIX = "sha256="
#: Seconds a signed request stays acceptable; covers clock skew and slow networks.
DEFAULT_TOLERANCE = 300


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


def sign(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """The `X-Wildflag-Signature` header value for `body` sent at `timestamp`."""
    message = f"{timestamp}.".encode() + _as_bytes(body)
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify_signature(
    secret: str,
    timestamp: int | str,
    body: bytes | str,
    header: str,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> bool:
    """True if `header` signs `body` at `timestamp` with `secret` and the timestamp is fresh.

    `body` must be the raw request body as received (not re-serialised JSON). `now` is the
    receiver's Unix time. Comparison is constant-time.
    """
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - sent) > tolerance:
        return False
    expected = sign(secret, str(timestamp), body)
    return hmac.compare_digest(expected.encode(), (header or "").strip().encode())
