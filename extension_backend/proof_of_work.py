"""Proof of work: an anonymous client pays a little CPU to earn a higher intake limit.

Anonymous intake is limited per address (`anonymous_reports_per_minute`), which stops a
script but also a person on a shared address (a newsroom, a ranger station behind one NAT).
A client that asks `GET /api/v1/proof-of-work` for a challenge, solves it (about
`2**proof_of_work_bits` SHA-256 hashes: a fraction of a second in a browser) and sends the
solution in the `X-Wildflag-Proof` header of its report is held to
`anonymous_pow_reports_per_minute` instead. A report without the header is untouched: the
base limit, exactly as before.

Challenges are ALTCHA v2 (`altcha` package, algorithm "SHA-256"): the server signs each
challenge's parameters (nonce, salt, difficulty, expiry) with HMAC-SHA256 and keeps nothing,
so any instance that holds the same key verifies any instance's challenge. The key is
derived from the evidence link secret (`evidence_link_secret`, or the data dir's generated
file), under its own label, so it is the same on every instance exactly when links are.

A solution must be (checked in this order; each refusal stores nothing):
- readable: base64 JSON `{challenge, solution}` (400 `proof_malformed`);
- in time: before the challenge's signed expiry (403 `proof_expired`);
- ours and right: the signature matches and the counter yields the key prefix (403
  `proof_invalid`), and the challenge is at least as hard as this service asks now (403
  `proof_invalid`: a challenge issued before the operator raised the difficulty);
- new: each challenge earns one report (403 `proof_reused`).
The library checks the expiry before the signature, so a forged challenge past its time is
refused as expired: either way it earns nothing, and the challenge holds no secret to leak.

Replay: a challenge that earned a report is recorded in the database (`spent_proofs`,
keyed by its nonce), which every instance shares, so it earns one report behind any number
of instances and after a restart; two requests racing with one solution meet the primary
key, and the second is refused. Records go once their challenge has expired (then it is
refused as expired anyway), so the table holds only live challenges: at most the number
issued in one lifetime.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import altcha
from pydantic import BaseModel, Field
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from db.models import SpentProof
from extension_backend.errors import ApiError
from extension_backend.settings import Settings

#: The request header that carries a solved challenge.
PROOF_HEADER = "X-Wildflag-Proof"
#: The ALTCHA key derivation used: iterated SHA-256, which WebCrypto does natively.
ALGORITHM = "SHA-256"
#: Labels the key derived from the link secret, so it signs nothing but challenges.
KEY_LABEL = b"wildflag-proof-of-work/v1"
#: Slack for an expiry a little beyond this instance's lifetime (another instance's clock).
CLOCK_SLACK_SECONDS = 30


class ChallengeParametersOut(BaseModel):
    """What the client must solve (ALTCHA v2 names): find a 32-bit counter such that
    `SHA-256` applied `cost` times to `salt ‖ nonce ‖ counter (big-endian uint32)` starts with
    `keyPrefix` (hex); the bytes are the hex-decoded `salt` and `nonce`."""

    algorithm: str = Field(description='"SHA-256": iterated SHA-256.')
    cost: int = Field(description="Rounds of SHA-256 per candidate counter.")
    keyLength: int = Field(description="Bytes of the derived key.")
    keyPrefix: str = Field(description="Hex the derived key must start with.")
    nonce: str = Field(description="Hex, 16 random bytes.")
    salt: str = Field(description="Hex, 16 random bytes.")
    expiresAt: int = Field(description="Unix seconds; solve and send before.")


class ChallengeOut(BaseModel):
    """A signed challenge; send it back with its solution in `X-Wildflag-Proof`."""

    parameters: ChallengeParametersOut
    signature: str = Field(description="Hex HMAC-SHA256 of the parameters (server secret).")


def challenge_key(link_secret: bytes) -> bytes:
    """The challenge signing key: the link secret under this feature's own label."""
    return hmac.new(link_secret, KEY_LABEL, hashlib.sha256).digest()


def difficulty(bits: int) -> tuple[str, int]:
    """(key prefix, cost) whose expected work is `2**bits` SHA-256 hashes.

    A hex prefix of zeros sets the work in steps of 4 bits; the rest is rounds per try.
    """
    return "0" * (bits // 4), 2 ** (bits % 4)


def work_bits(key_prefix: str, cost: int) -> float:
    """The expected work of a challenge, in bits (log2 of SHA-256 hashes)."""
    if key_prefix.strip("0"):  # only prefixes of zeros are issued
        return 0.0
    return 4 * len(key_prefix) + math.log2(max(1, cost))


def _refuse(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, code, message, field=PROOF_HEADER)


@dataclass(frozen=True, slots=True)
class Proof:
    """A verified solution, not yet spent: its challenge's nonce and signed expiry."""

    nonce: str
    expires_at: int


class ProofOfWork:
    """Issues and checks challenges (see the module docstring; `spend` records them).

    Pure but for the clock: no I/O, so it is built once per app.
    """

    def __init__(
        self, settings: Settings, key: bytes, clock: Callable[[], float] = time.time
    ) -> None:
        self.enabled = settings.proof_of_work
        self.bits = settings.proof_of_work_bits
        self.lifetime = settings.proof_of_work_lifetime_seconds
        self.key = key
        self.clock = clock

    def issue(self) -> ChallengeOut:
        """A fresh signed challenge at the current difficulty."""
        prefix, cost = difficulty(self.bits)
        challenge = altcha.create_challenge(
            ALGORITHM,
            cost,
            key_prefix=prefix,
            expires_at=math.ceil(self.clock() + self.lifetime),
            hmac_secret=self.key,
        )
        return ChallengeOut.model_validate(challenge.to_dict())

    def check(self, header: str | None) -> Proof | None:
        """The verified proof in a request's header; None without one (or when switched off).

        Raises `ApiError` for a proof that is unreadable, forged, wrong, too easy or
        expired. Whether it was spent before, `spend` tells, as it records it.
        """
        if header is None or not self.enabled:
            return None
        result = altcha.verify_solution(header.strip(), self.key)
        if result.error:
            raise _refuse(
                400,
                "proof_malformed",
                f"{PROOF_HEADER} must be a solved challenge from GET /api/v1/proof-of-work "
                "(base64 JSON with challenge and solution)",
            )
        if result.expired:
            raise _refuse(403, "proof_expired", "the challenge has expired; solve a new one")
        if not result.verified:
            raise _refuse(
                403, "proof_invalid", "the challenge was not issued here or is not solved"
            )
        payload = altcha.Payload.from_base64(header.strip())
        params = payload.challenge.parameters
        now = self.clock()
        expires_at = params.expires_at
        if (
            params.algorithm != ALGORITHM
            or type(expires_at) is not int
            or expires_at > now + self.lifetime + CLOCK_SLACK_SECONDS
        ):
            raise _refuse(403, "proof_invalid", "the challenge was not issued here")
        if work_bits(params.key_prefix, params.cost) < self.bits:
            raise _refuse(
                403,
                "proof_invalid",
                "the challenge is easier than this service asks for now; solve a new one",
            )
        return Proof(nonce=params.nonce, expires_at=expires_at)


def spend(session: Session, proof: Proof, now: float) -> None:
    """Records `proof` as used; 403 `proof_reused` when any instance has. The caller
    commits (intake's writer, as a report).

    First drops the records of challenges that expired more than the clock slack before
    `now` (another instance's clock may run a little behind this one's), so the table keeps
    only challenges that could still be sent.
    """
    stale = int(now) - CLOCK_SLACK_SECONDS
    session.exec(delete(SpentProof).where(col(SpentProof.expires_at) < stale))
    session.add(SpentProof(nonce=proof.nonce, expires_at=proof.expires_at))
    try:
        session.flush()
    except IntegrityError:
        raise _refuse(
            403, "proof_reused", "this challenge was already used; solve a new one"
        ) from None
