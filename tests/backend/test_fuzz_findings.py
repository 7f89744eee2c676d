"""What the API fuzzer (test_api_fuzz.py) found, pinned as plain tests: each odd input gets
its exact status and error code, and nothing is stored or changed.

Found: numbers past the id columns' range (PostgreSQL INTEGER ids, a BIGINT Telegram user
id) reached the database and failed there as 500s; `str.isdigit` passed digits such as "²"
that `int` refuses, and numbers of thousands of digits that `int` refuses too (500s); and
lax validation read JSON `true` as the id 1 (`{"into": true}` merged into case 1).

Every test runs on SQLite and on PostgreSQL (the `settings` fixture).
"""

from __future__ import annotations

from typing import Any

from db.models import AuditEvent, Case, TelegramLink, TelegramLinkCode
from tests.backend.test_case_actions import Account, account, post

#: One past the largest id PostgreSQL's INTEGER holds, then far past SQLite's 64 bits too.
PAST_INT32 = 2**31
HUGE = 10**30


async def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error"}
    return body["error"]


async def a_case(
    client: Any, officer: Account, url: str = "https://www.ebay.co.uk/itm/123456789012"
) -> dict[str, Any]:
    """A report by `officer` (so the receipt carries its case id) of the listing at `url`."""
    response = await client.post(
        "/api/v1/reports", json={"url": url, "text": "Ivory bangle"}, headers=officer.auth
    )
    assert response.status == 201, await response.text()
    return await response.json()


async def snapshot(peek: Any) -> tuple[dict[str, int], list[tuple[Any, ...]]]:
    """Row counts and every case's state: a refused request must change neither."""
    cases = [
        (c.id, c.status, c.merged_into_id, c.assigned_account_id, c.report_count)
        for c in await peek.rows(Case)
    ]
    return await peek.counts(), sorted(cases)


#: Path case ids that are no case id: past INTEGER, past 64 bits, not positive, a digit
#: `int` refuses, more digits than `int` reads.
NO_CASE_IDS = (str(PAST_INT32), str(HUGE), "-1", "0", "²", "1" + "0" * 5000)
#: Body ids that are no id: out of range, or not a JSON integer (lax mode read `true` as 1).
NO_IDS = (PAST_INT32, HUGE, 0, -1, True, "1", 1.0)


async def test_a_case_id_that_cannot_be_one_is_the_404_of_an_unknown_case(client, settings, peek):
    admin = await account(settings, "admin", None, "Admin")
    await a_case(client, await account(settings, "officer", "GB", "Alice"))
    before = await snapshot(peek)
    for case_id in NO_CASE_IDS:
        read = await client.get(f"/api/v1/cases/{case_id}", headers=admin.auth)
        assert (await error_of(read, 404))["code"] == "not_found", case_id[:20]
        for action, body in [
            ("acknowledge", {}),
            ("assign", {}),
            ("status", {"status": "closed", "outcome": "false_positive"}),
            ("merge", {"into": 1}),
            ("split", {"reports": ["WF-AAAA-AAAA"]}),
            ("reroute", {"unit": "FR", "reason": "seller in France"}),
        ]:
            status, answer = await post(client, f"/api/v1/cases/{case_id}/{action}", admin, body)
            assert (status, answer["error"]["code"]) == (404, "not_found"), (action, case_id[:20])
    assert await snapshot(peek) == before


async def test_ids_in_bodies_that_are_no_ids_are_refused_naming_the_field(client, settings, peek):
    admin = await account(settings, "admin", None, "Admin")
    alice = await account(settings, "officer", "GB", "Alice")
    await a_case(client, alice)  # case 1: what `true` and "1" would have merged into
    other = (await a_case(client, alice, "https://www.gumtree.com/p/x/tusk/1471234567"))["case_id"]
    assert other != 1
    before = await snapshot(peek)
    for value in NO_IDS:
        for path, body, field in [
            (f"/api/v1/cases/{other}/merge", {"into": value, "reason": "x"}, "into"),
            (f"/api/v1/cases/{other}/assign", {"account": value}, "account"),
            ("/api/v1/telegram/link-codes", {"account": value}, "account"),
        ]:
            status, answer = await post(client, path, admin, body)
            assert status == 422, (path, value, answer)
            assert answer["error"]["code"] == "invalid_field", (path, value, answer)
            assert answer["error"]["field"] == field, (path, value, answer)
    assert await snapshot(peek) == before
    assert await peek.count(TelegramLinkCode) == 0


async def test_a_telegram_user_id_past_64_bits_is_a_400(client, settings, peek):
    bot = await account(settings, "bot", None, "telegram")
    for telegram_user in (str(2**63), str(HUGE)):
        header = {"X-Telegram-User": telegram_user}
        for path, body in [
            ("/api/v1/reports", {"text": "Pangolin scales for sale"}),
            ("/api/v1/telegram/links", {"code": "ABCDE-FGHJK"}),
            ("/api/v1/cases/1/acknowledge", {}),
        ]:
            status, answer = await post(client, path, bot, body, **header)
            assert (status, answer["error"]["code"]) == (400, "bad_request"), (path, answer)
        deleted = await client.delete("/api/v1/telegram/links", headers={**bot.auth, **header})
        assert (await error_of(deleted, 400))["code"] == "bad_request"
    counts = await peek.counts()
    assert counts == dict.fromkeys(counts, 0), counts
    assert await peek.count(TelegramLink) == 0


SHA = "0" * 64
SIG = "0" * 64
#: Evidence queries whose numbers cannot be what they name.
NO_EVIDENCE_QUERIES = (
    f"case={PAST_INT32}",
    "case=100000000000000000",  # 18 digits: passed the old length check
    "case=²",
    f"case=1&expires=²&delivery=1&sig={SIG}",
    f"case=1&expires=1&delivery=²&sig={SIG}",
    f"case=1&expires={'9' * 5000}&delivery=1&sig={SIG}",
)


async def test_evidence_links_with_impossible_numbers_get_the_one_404(client, settings, peek):
    admin = await account(settings, "admin", None, "Admin")
    for query in NO_EVIDENCE_QUERIES:
        for headers in ({}, admin.auth):
            response = await client.get(f"/api/v1/evidence/{SHA}?{query}", headers=headers)
            assert (await error_of(response, 404))["code"] == "not_found", query[:40]
    assert await peek.count(AuditEvent) == 0  # no `evidence.viewed`


async def test_analyze_refuses_an_id_that_is_neither_text_nor_an_integer(client, peek):
    for listing_id in (True, False, 1.5):
        response = await client.post(
            "/api/v1/analyze", json={"id": listing_id, "text": "Live African grey parrot"}
        )
        error = await error_of(response, 422)
        assert error["code"] == "invalid_field" and error["field"] == "id", listing_id
    counts = await peek.counts()
    assert counts == dict.fromkeys(counts, 0), counts
