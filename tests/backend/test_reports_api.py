"""POST /api/v1/reports and GET /api/v1/reports/{reference}, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
import re
from ipaddress import ip_network
from typing import Any

from aiohttp import FormData
from PIL import Image

from db.models import (
    Analysis,
    AuditEvent,
    Case,
    CaseUnit,
    Delivery,
    Evidence,
    JurisdictionDecision,
    Listing,
    Report,
    SpeciesMatch,
)
from extension_backend.settings import Settings
from tests.helpers import IVORY as SHARED_IVORY
from tests.helpers import image_bytes

IVORY = {
    **SHARED_IVORY,
    "url": "https://www.ebay.co.uk/itm/Carved-tusk/284512345678?utm_source=share&hash=item42",
    "price": "1200",
    "currency": "GBP",
}


async def test_anonymous_json_report_is_stored_routed_and_receipted(client, peek):
    response = await client.post("/api/v1/reports", json=IVORY)
    assert response.status == 201, await response.text()
    body = await response.json()

    assert re.fullmatch(r"WF-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", body["reference"])
    assert len(body["receipt_token"]) >= 40
    assert body["status_url"] == (
        f"http://wildflag.test/status/{body['reference']}#receipt={body['receipt_token']}"
    )
    # An anonymous receipt never says whether the listing was known.
    assert not {"case_id", "duplicate", "case_reports"} & set(body)
    assert body["priority"] == "critical"
    assert any(s["appendix"] in ("I", "I/II") for s in body["species"])
    assert body["routed_to"] == ["GB"]

    [report] = await peek.rows(Report)
    assert report.reference == body["reference"]
    assert report.account_id is None and report.channel == "api"
    assert report.receipt_hash == hashlib.sha256(body["receipt_token"].encode()).hexdigest()
    assert report.submitted["title"] == IVORY["title"]
    [case] = await peek.rows(Case)
    assert (case.priority, case.priority_rank, case.country) == ("critical", 1, "GB")
    [listing] = await peek.rows(Listing)
    assert listing.case_id == case.id and listing.platform == "ebay"
    [analysis] = await peek.rows(Analysis)
    assert analysis.flagged and analysis.lexicon_version
    matches = await peek.rows(SpeciesMatch)
    assert matches and all(m.lexicon_version == analysis.lexicon_version for m in matches)
    [decision] = await peek.rows(JurisdictionDecision)
    assert decision.country == "GB"
    assert {s["signal"] for s in decision.signals} >= {"seller_location"}
    assert decision.routed_to[0]["unit"] == "GB" and decision.routed_to[0]["reason"]
    [routed] = await peek.rows(CaseUnit)
    assert routed.unit_code == "GB"
    [delivery] = await peek.rows(Delivery)
    assert (delivery.unit_code, delivery.channel, delivery.state) == ("GB", "dashboard", "sent")
    [audit] = await peek.rows(AuditEvent)
    assert (audit.actor, audit.action, audit.object_id) == (
        "anonymous",
        "report.received",
        body["reference"],
    )


async def test_same_listing_again_joins_the_case_and_only_officers_are_told(client, peek):
    first = await (await client.post("/api/v1/reports", json=IVORY)).json()
    again = dict(IVORY, url="https://m.ebay.com/itm/284512345678?fbclid=abc#photos")
    anonymous = await client.post("/api/v1/reports", json=again)
    assert anonymous.status == 201
    anonymous_body = await anonymous.json()
    assert not {"case_id", "duplicate", "case_reports"} & set(anonymous_body)

    token = await peek.token("officer", "GB")
    officer = await client.post(
        "/api/v1/reports", json=again, headers={"Authorization": f"Bearer {token}"}
    )
    assert officer.status == 201
    officer_body = await officer.json()
    assert officer_body["duplicate"] is True and officer_body["case_reports"] == 3
    assert "receipt_token" not in officer_body

    cases = await peek.rows(Case)
    assert len(cases) == 1 and cases[0].report_count == 3
    assert officer_body["case_id"] == cases[0].id
    reports = await peek.rows(Report)
    assert {r.case_id for r in reports} == {cases[0].id}
    assert [r.duplicate for r in sorted(reports, key=lambda r: r.id)] == [False, True, True]
    assert first["reference"] != anonymous_body["reference"]
    assert await peek.count(Listing) == 1
    assert len(await peek.rows(Delivery)) == 3  # one per report and destination
    [officer_report] = await peek.rows(Report, Report.account_id.is_not(None))
    assert officer_report.reference == officer_body["reference"]


async def test_a_different_listing_makes_a_new_case(client, peek):
    await client.post("/api/v1/reports", json=IVORY)
    other = dict(IVORY, url="https://www.ebay.co.uk/itm/999999999999")
    token = await peek.token("officer", "GB")
    body = await (
        await client.post(
            "/api/v1/reports", json=other, headers={"Authorization": f"Bearer {token}"}
        )
    ).json()
    assert body["duplicate"] is False
    assert await peek.count(Case) == 2


async def test_text_only_report_without_country_goes_to_the_coordinating_unit(client, peek):
    response = await client.post(
        "/api/v1/reports", json={"text": "pangolin scales for sale, wholesale"}
    )
    assert response.status == 201
    body = await response.json()
    assert body["routed_to"] == ["COORD"]
    assert body["priority"] == "critical"
    [case] = await peek.rows(Case)
    assert case.country is None
    assert await peek.count(Listing) == 0


async def test_unrecognised_listing_goes_to_review(client, peek):
    response = await client.post(
        "/api/v1/reports", json={"text": "Vintage wooden chair", "reporter_country": "fr"}
    )
    body = await response.json()
    assert response.status == 201
    assert body["species"] == [] and body["priority"] == "review"
    [case] = await peek.rows(Case)
    assert case.priority_rank == 4


async def test_multipart_report_keeps_evidence_without_gps(client, peek):
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 24.0)  # GPSLatitude
    exif.get_ifd(0x8825)[1] = "N"
    photo = image_bytes(exif=exif)
    assert b"PhoneMaker" in photo
    screenshot = image_bytes("PNG", size=(120, 80), color="white")
    snapshot = b"<!doctype html><html><body>Rhino horn for sale</body></html>"

    form = FormData()
    form.add_field("report", json.dumps(IVORY), content_type="application/json")
    form.add_field("images", photo, filename="../../etc/passwd.jpg", content_type="image/jpeg")
    form.add_field("images", image_bytes("PNG"), filename="two.png", content_type="image/png")
    form.add_field("screenshot", screenshot, filename="shot.png", content_type="image/png")
    form.add_field("snapshot", snapshot, filename="page.html", content_type="text/html")
    response = await client.post("/api/v1/reports", data=form)
    assert response.status == 201, await response.text()

    evidence = sorted(await peek.rows(Evidence), key=lambda e: e.id)
    assert [e.kind for e in evidence] == ["image", "image", "screenshot", "snapshot"]
    first = evidence[0]
    assert first.original_sha256 == hashlib.sha256(photo).hexdigest()
    assert first.sha256 != first.original_sha256
    assert first.filename == "passwd.jpg"
    assert (first.width, first.height, first.media_type) == (64, 48, "image/jpeg")
    stored = peek.settings.evidence_dir / first.sha256[:2] / first.sha256[2:4] / first.sha256
    data = stored.read_bytes()
    assert hashlib.sha256(data).hexdigest() == first.sha256
    assert b"PhoneMaker" not in data
    with Image.open(io.BytesIO(data)) as served:
        assert not served.getexif()
    assert evidence[3].media_type == "text/html"
    assert evidence[3].sha256 == hashlib.sha256(snapshot).hexdigest()
    assert len(peek.evidence_files()) == 4


async def test_receipt_token_opens_the_status_and_nothing_else_does(client, peek):
    body = await (await client.post("/api/v1/reports", json=IVORY)).json()
    url = f"/api/v1/reports/{body['reference']}"

    ok = await client.get(url, headers={"X-Receipt-Token": body["receipt_token"]})
    assert ok.status == 200
    status = await ok.json()
    assert status["reference"] == body["reference"]
    assert status["routed_to"] == ["GB"] and status["priority"] == "critical"
    assert status["species"] == body["species"]
    assert "case_id" not in status and "duplicate" not in status
    assert ok.headers["Cache-Control"] == "no-store"

    wrong = await client.get(url, headers={"X-Receipt-Token": "x" * 43})
    assert wrong.status == 404
    unknown = await client.get(
        "/api/v1/reports/WF-0000-0000", headers={"X-Receipt-Token": body["receipt_token"]}
    )
    assert unknown.status == 404
    assert (await wrong.json()) == (await unknown.json())
    missing = await client.get(url)
    assert missing.status == 401
    assert (await missing.json())["error"]["code"] == "unauthorized"


async def test_officers_see_reports_routed_to_their_unit_only(client, peek):
    body = await (await client.post("/api/v1/reports", json=IVORY)).json()
    url = f"/api/v1/reports/{body['reference']}"
    gb = await peek.token("officer", "GB")
    fr = await peek.token("officer", "FR")
    coordinator = await peek.token("coordinator", None)

    seen = await client.get(url, headers={"Authorization": f"Bearer {gb}"})
    assert seen.status == 200
    status = await seen.json()
    assert status["duplicate"] is False and status["case_status"] == "new"
    assert isinstance(status["case_id"], int)
    assert (await client.get(url, headers={"Authorization": f"Bearer {fr}"})).status == 404
    assert (await client.get(url, headers={"Authorization": f"Bearer {coordinator}"})).status == 200
    bad = await client.get(url, headers={"Authorization": "Bearer wf_not-a-token"})
    assert bad.status == 401
    assert (await bad.json())["error"]["message"] == "unknown or revoked token"


async def test_rate_limit_on_anonymous_reports(make_client, settings):
    limited = settings.model_copy(update={"anonymous_reports_per_minute": 2})
    client = await make_client(limited)
    for _ in range(2):
        assert (await client.post("/api/v1/reports", json={"text": "parrot"})).status == 201
    third = await client.post("/api/v1/reports", json={"text": "parrot"})
    assert third.status == 429
    assert 1 <= int(third.headers["Retry-After"]) <= 60
    assert (await third.json())["error"]["code"] == "rate_limited"


async def test_rate_limit_per_token_and_for_the_bot(make_client, settings, peek):
    limited = settings.model_copy(
        update={"token_reports_per_minute": 2, "bot_reports_per_minute": 3}
    )
    client = await make_client(limited)
    officer, other, bot = (
        await peek.token("officer", "GB"),
        await peek.token("officer", "GB"),
        await peek.token("bot", None),
    )

    async def send(token: str) -> Any:
        return await client.post(
            "/api/v1/reports",
            json={"text": "parrot"},
            headers={"Authorization": f"Bearer {token}"},
        )

    assert [(await send(officer)).status for _ in range(2)] == [201, 201]
    third = await send(officer)
    assert third.status == 429 and int(third.headers["Retry-After"]) >= 1
    error = (await third.json())["error"]
    assert error["code"] == "rate_limited" and "this token" in error["message"]
    assert (await send(other)).status == 201  # each token its own limit
    assert [(await send(bot)).status for _ in range(4)] == [201, 201, 201, 429]


async def test_a_case_is_placed_by_the_signals_of_all_its_reports(client, peek):
    first = await (await client.post("/api/v1/reports", json=IVORY)).json()
    assert first["routed_to"] == ["GB"]
    # The same eBay item seen through the German site: a weak .de signal alone.
    seen_from_germany = {"url": "https://www.ebay.de/itm/284512345678", "text": "Elfenbein"}
    again = await (await client.post("/api/v1/reports", json=seen_from_germany)).json()
    assert again["routed_to"] == ["GB"]
    [case] = await peek.rows(Case)
    assert case.country == "GB"
    decisions = sorted(await peek.rows(JurisdictionDecision), key=lambda d: d.id)
    assert {s["country"] for s in decisions[1].signals} == {"GB", "DE"}
    assert [r.unit_code for r in await peek.rows(CaseUnit)] == ["GB"]


async def test_stronger_evidence_in_a_later_report_moves_the_case(client, peek):
    weak = {"url": "https://www.ebay.de/itm/111122223333", "text": "Elfenbein Figur"}
    assert (await (await client.post("/api/v1/reports", json=weak)).json())["routed_to"] == ["DE"]
    strong = dict(weak, seller_location="Lyon, France")
    moved = await (await client.post("/api/v1/reports", json=strong)).json()
    assert moved["routed_to"] == ["FR"]
    [case] = await peek.rows(Case)
    assert case.country == "FR"
    # The unit that already had the case keeps it; the new one is added.
    assert sorted(r.unit_code for r in await peek.rows(CaseUnit)) == ["DE", "FR"]


async def test_a_blocked_network_is_refused_and_nothing_is_stored(
    make_client, settings, nothing_stored
):
    blocked = settings.model_copy(
        update={"blocked_networks": [ip_network("127.0.0.0/8"), ip_network("2001:db8::/32")]}
    )
    client = await make_client(blocked)
    response = await client.post("/api/v1/reports", json={"text": "pangolin scales"})
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "blocked"


async def test_other_networks_are_not_blocked(make_client, settings, monkeypatch):
    monkeypatch.setenv("WILDFLAG_BLOCKED_NETWORKS", '["203.0.113.0/24", "198.51.100.7"]')
    from_env = Settings(data_dir=settings.data_dir, database_url=settings.database_url)
    assert [str(n) for n in from_env.blocked_networks] == ["203.0.113.0/24", "198.51.100.7/32"]
    client = await make_client(from_env)
    response = await client.post("/api/v1/reports", json={"text": "pangolin scales"})
    assert response.status == 201
