"""Proof of work over real HTTP: a solved challenge earns the higher anonymous limit.

The client side is the `altcha` package's own solver (the extension's WebCrypto solver is
exercised in tests/extension/test_extension_proof.py and browser_extension/test/). Forged,
expired, too easy, unsolved, unreadable and replayed proofs each get their exact error and
store nothing; a report without a proof keeps the base limit, unchanged.

Every HTTP test runs on SQLite and on PostgreSQL (the `settings` fixture).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import altcha
import pytest

from db.models import SpentProof
from extension_backend import keys
from extension_backend.errors import ApiError
from extension_backend.evidence_api import load_link_secret
from extension_backend.proof_of_work import (
    CLOCK_SLACK_SECONDS,
    PROOF_HEADER,
    Proof,
    challenge_key,
    difficulty,
    work_bits,
)
from extension_backend.settings import Settings

REPORT = {"text": "Live African grey parrot, hand-reared"}


async def challenge(client: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/proof-of-work")
    assert response.status == 200, await response.text()
    return await response.json()


def solve(issued: dict[str, Any], counter_offset: int = 0) -> str:
    """The header value for a challenge: solved (or its counter moved by `counter_offset`)."""
    parsed = altcha.Challenge.from_dict(issued)
    solution = altcha.solve_challenge(parsed, timeout=60)
    assert solution is not None
    solution = altcha.Solution(solution.counter + counter_offset, solution.derived_key)
    return altcha.Payload(parsed, solution).to_base64()


async def proven(client: Any) -> str:
    return solve(await challenge(client))


def server_key(settings: Settings) -> bytes:
    """The running service's challenge key (its link secret exists once the app started)."""
    return challenge_key(load_link_secret(settings))


def signed(key: bytes, *, bits: int, expires_at: int) -> dict[str, Any]:
    """A challenge signed with `key`, of any difficulty and expiry: what only a holder of
    the key can make, so the service must check what it signed, not just the signature."""
    prefix, cost = difficulty(bits)
    made = altcha.create_challenge(
        "SHA-256", cost, key_prefix=prefix, expires_at=expires_at, hmac_secret=key
    )
    return made.to_dict()


async def post(client: Any, proof: str | None = None) -> Any:
    headers = {PROOF_HEADER: proof} if proof is not None else {}
    return await client.post("/api/v1/reports", json=REPORT, headers=headers)


async def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    error = (await response.json())["error"]
    assert error["code"] == code, error
    return error


@pytest.fixture
def limited(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"anonymous_reports_per_minute": 2, "anonymous_pow_reports_per_minute": 4}
    )


async def test_the_challenge_is_signed_expiring_and_as_hard_as_configured(make_client, settings):
    client = await make_client(settings.model_copy(update={"proof_of_work_bits": 18}))
    before = time.time()
    response = await client.get("/api/v1/proof-of-work")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    issued = await response.json()
    params = issued["parameters"]
    assert params["algorithm"] == "SHA-256"
    assert (params["keyPrefix"], params["cost"]) == ("0000", 4)  # 16 bits + 2 bits of rounds
    lifetime = settings.proof_of_work_lifetime_seconds
    assert before + lifetime <= params["expiresAt"] <= time.time() + lifetime + 1
    assert len(issued["signature"]) == 64
    again = await challenge(client)
    assert again["parameters"]["nonce"] != params["nonce"]  # each challenge is its own


async def test_a_valid_proof_raises_the_limit_beyond_the_base(make_client, limited, peek):
    client = await make_client(limited)
    assert [(await post(client)).status for _ in range(2)] == [201, 201]
    refused = await post(client)
    error = await error_of(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) >= 1 and "address" in error["message"]

    # The same address, now with a solved challenge per report: the higher limit applies.
    for _ in range(4):
        response = await post(client, await proven(client))
        assert response.status == 201, await response.text()
        assert (await response.json())["reference"].startswith("WF-")
    over = await post(client, await proven(client))
    await error_of(over, 429, "rate_limited")
    assert int(over.headers["Retry-After"]) >= 1
    assert (await peek.counts())["Report"] == 6
    # Without a proof the base limit still holds, spent or not.
    await error_of(await post(client), 429, "rate_limited")
    assert await peek.count(SpentProof) == 5  # the refused one was spent too


async def test_a_plain_report_without_a_proof_is_unchanged(make_client, settings, peek):
    client = await make_client(settings.model_copy(update={"anonymous_reports_per_minute": 1}))
    first = await post(client)
    assert first.status == 201
    assert set(await first.json()) >= {"reference", "receipt_token", "status_url"}
    await error_of(await post(client), 429, "rate_limited")
    assert (await peek.counts())["Report"] == 1


def _forged(settings: Settings) -> str:
    return solve(signed(b"not the server's key" * 2, bits=8, expires_at=int(time.time()) + 60))


def _expired(settings: Settings) -> str:
    return solve(signed(server_key(settings), bits=14, expires_at=int(time.time()) - 1))


def _too_easy(settings: Settings) -> str:
    return solve(signed(server_key(settings), bits=4, expires_at=int(time.time()) + 60))


def _too_long(settings: Settings) -> str:
    """Signed by the service, but for a lifetime it never grants."""
    return solve(signed(server_key(settings), bits=14, expires_at=int(time.time()) + 86_400))


def _unsolved(settings: Settings) -> str:
    """A real challenge and key, but claimed for another counter than the one that made it."""
    issued = signed(server_key(settings), bits=14, expires_at=int(time.time()) + 60)
    return solve(issued, counter_offset=1)


def _tampered(settings: Settings) -> str:
    """A real challenge made easier after signing: the signature no longer matches."""
    issued = signed(server_key(settings), bits=14, expires_at=int(time.time()) + 60)
    issued["parameters"]["keyPrefix"] = "0"
    return solve(issued)


def _not_base64(settings: Settings) -> str:
    return "this is not a proof"


def _not_a_payload(settings: Settings) -> str:
    return base64.b64encode(json.dumps({"challenge": "x", "solution": 1}).encode()).decode()


REFUSALS = {
    "forged signature": (_forged, 403, "proof_invalid"),
    "tampered difficulty": (_tampered, 403, "proof_invalid"),
    "expired": (_expired, 403, "proof_expired"),
    "too easy": (_too_easy, 403, "proof_invalid"),
    "lifetime never granted": (_too_long, 403, "proof_invalid"),
    "wrong counter": (_unsolved, 403, "proof_invalid"),
    "not base64 JSON": (_not_base64, 400, "proof_malformed"),
    "not a payload": (_not_a_payload, 400, "proof_malformed"),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
async def test_a_bad_proof_gets_its_exact_error_and_stores_nothing(
    make_client, settings, nothing_stored, peek, case
):
    client = await make_client(settings)
    await challenge(client)  # the service is up: its link secret file exists
    make, status, code = REFUSALS[case]
    error = await error_of(await post(client, make(settings)), status, code)
    assert error["field"] == PROOF_HEADER
    if case == "too easy":
        assert "easier than this service asks" in error["message"]
    assert await peek.count(SpentProof) == 0


async def test_a_proof_is_good_for_one_report(make_client, settings, peek):
    client = await make_client(settings)
    proof = await proven(client)
    assert (await post(client, proof)).status == 201
    error = await error_of(await post(client, proof), 403, "proof_reused")
    assert error["field"] == PROOF_HEADER
    # The same proof sent twice at once: one report, one refusal.
    twin = await proven(client)
    answers = await asyncio.gather(post(client, twin), post(client, twin))
    assert sorted(a.status for a in answers) == [201, 403]
    assert (await peek.counts())["Report"] == 2
    # A retry with the same Idempotency-Key needs a fresh proof, and then replays.
    key = {"Idempotency-Key": "retry-with-a-new-proof"}
    first = await client.post(
        "/api/v1/reports", json=REPORT, headers={**key, PROOF_HEADER: await proven(client)}
    )
    again = await client.post(
        "/api/v1/reports", json=REPORT, headers={**key, PROOF_HEADER: await proven(client)}
    )
    assert (first.status, again.status) == (201, 200)
    assert (await first.json())["reference"] == (await again.json())["reference"]
    assert (await peek.counts())["Report"] == 3


async def test_switched_off_no_challenge_and_a_proof_is_ignored(make_client, settings, peek):
    off = settings.model_copy(update={"proof_of_work": False, "anonymous_reports_per_minute": 1})
    client = await make_client(off)
    await error_of(await client.get("/api/v1/proof-of-work"), 404, "not_found")
    assert (await post(client, "anything at all")).status == 201  # the base limit applies
    await error_of(await post(client, "anything at all"), 429, "rate_limited")
    assert (await peek.counts())["Report"] == 1


async def test_a_proof_spent_at_one_instance_is_refused_at_another(make_client, settings, peek):
    """Two instances on one database (on SQLite: an instance and the same service after a
    restart) share what was spent: a solved challenge earns one report in all."""
    quiet = settings.model_copy(update={"delivery_worker": False})
    first, second = await make_client(quiet), await make_client(quiet)
    proof = await proven(first)
    assert (await post(first, proof)).status == 201
    await error_of(await post(second, proof), 403, "proof_reused")
    twin = await proven(second)
    answers = await asyncio.gather(post(first, twin), post(second, twin))
    assert sorted(a.status for a in answers) == [201, 403]
    assert (await peek.counts())["Report"] == 2
    assert await peek.count(SpentProof) == 2


async def test_a_bearer_token_report_ignores_the_proof_header(make_client, settings, peek):
    client = await make_client(settings)
    token = await peek.token("officer", "GB")
    response = await client.post(
        "/api/v1/reports",
        json=REPORT,
        headers={"Authorization": f"Bearer {token}", PROOF_HEADER: "not a proof"},
    )
    assert response.status == 201


async def test_spent_challenges_are_dropped_once_expired(make_client, settings, peek):
    client = await make_client(settings)
    intake = client.app[keys.INTAKE]
    await intake.spend_proof(Proof(nonce="a", expires_at=1_000_100), now=1_000_000)
    await intake.spend_proof(Proof(nonce="b", expires_at=1_000_200), now=1_000_000)
    with pytest.raises(ApiError, match="already used"):
        await intake.spend_proof(Proof(nonce="a", expires_at=1_000_100), now=1_000_050)
    # "a" expired past the clock slack: refused as expired from then on, its record goes.
    later = 1_000_100 + CLOCK_SLACK_SECONDS + 1
    await intake.spend_proof(Proof(nonce="c", expires_at=1_000_300), now=later)
    assert sorted(p.nonce for p in await peek.rows(SpentProof)) == ["b", "c"]


@pytest.mark.parametrize("bits", range(4, 29))
def test_difficulty_is_the_configured_work(bits):
    prefix, cost = difficulty(bits)
    assert work_bits(prefix, cost) == bits
    assert work_bits("0" * len(prefix) + "1", cost) == 0  # only zero prefixes are issued
