"""Analysis on demand, health, the OpenAPI document and the public status page."""

from __future__ import annotations

import re

from db.models import Analysis, Report
from extension_backend.species_store import place_cache_dir
from matching import jurisdiction


async def test_analyze_answers_and_stores_nothing(client, peek):
    listing = {
        "id": "l-1",
        "title": "Pangolin scales 1kg",
        "text": "Contact +84 912 345 678",
        "url": "https://shopee.vn/item/123",
    }
    response = await client.post("/api/v1/analyze", json=listing)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["id"] == "l-1"
    assert body["flagged"] is True and body["priority"] == "critical"
    assert body["country"] == "VN" and body["units"] == ["VN"]
    assert {r["signal"] for r in body["country_reasons"]} >= {"url_cctld"}
    assert all(set(r) == {"signal", "value", "country", "weight"} for r in body["country_reasons"])
    species = body["species"][0]
    assert set(species) == {
        "taxon", "rank", "family", "order", "class", "appendix", "term", "kind",
        "start", "end", "confidence",
    }  # fmt: skip
    full_text = listing["title"] + "\n" + listing["text"]
    assert full_text[species["start"] : species["end"]] == species["term"]
    assert await peek.count(Report) == 0 and await peek.count(Analysis) == 0


async def test_analyze_rejects_bad_input_like_intake(client):
    response = await client.post("/api/v1/analyze", json={"text": "x", "price": 3})
    assert response.status == 422
    assert (await response.json())["error"]["field"] == "price"


async def test_health_and_readiness(client):
    assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status == 200
    assert (await ready.json())["checks"] == {"database": "ok", "schema": "ok"}


async def test_the_place_index_is_ready_before_the_first_report(make_client, settings, monkeypatch):
    """A service starts with its place index in memory, and cached in its data dir for the
    next start: left to the first report, building it would hold every request behind it."""
    monkeypatch.setattr(jurisdiction, "_INSTALLED_PLACES", [])
    jurisdiction._places.cache_clear()
    try:
        await make_client(settings)
        assert jurisdiction.place_index_built()
        assert list(place_cache_dir(settings).glob("places-*.pickle"))
    finally:
        jurisdiction._places.cache_clear()


async def test_openapi_document_matches_the_validators(client, settings):
    response = await client.get("/api/openapi.json")
    document = await response.json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) >= {
        "/api/v1/reports",
        "/api/v1/reports/{reference}",
        "/api/v1/analyze",
        "/healthz",
        "/readyz",
    }
    schemas = document["components"]["schemas"]
    report = schemas["ReportIn"]
    assert report["additionalProperties"] is False
    seller = report["properties"]["seller"]["anyOf"][0]
    assert seller["maxLength"] == settings.max_field_chars
    receipt = schemas["ReceiptOut"]["properties"]
    assert {"reference", "receipt_token", "status_url", "case_id", "duplicate"} <= set(receipt)
    post = document["paths"]["/api/v1/reports"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert {"201", "400", "413", "415", "422", "429"} <= set(post["responses"])
    # every $ref resolves
    for ref in re.findall(
        r'"\$ref": "#/components/schemas/([^"]+)"', str(document).replace("'", '"')
    ):
        assert ref in schemas


async def test_unknown_route_and_method_are_json_errors(client):
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "not_found"
    wrong = await client.put("/api/v1/reports")
    assert wrong.status == 405
    assert (await wrong.json())["error"]["code"] == "method_not_allowed"


async def test_status_page_for_the_receipt_holder(client):
    report = {"text": "Live African grey parrot for sale"}
    receipt = await (await client.post("/api/v1/reports", json=report)).json()
    path = f"/status/{receipt['reference']}"
    assert receipt["status_url"].endswith(f"{path}#receipt={receipt['receipt_token']}")

    form = await client.get(path)
    assert form.status == 200
    assert form.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in form.headers["Content-Security-Policy"]
    assert 'name="receipt"' in await form.text()

    page = await client.post(path, data={"receipt": receipt["receipt_token"]})
    assert page.status == 200
    html = await page.text()
    assert receipt["reference"] in html
    assert "Psittacus erithacus" in html
    assert "Coordinating unit" in html

    wrong = await client.post(path, data={"receipt": "nope"})
    assert wrong.status == 404
    assert "No report matches" in await wrong.text()
    assert "Psittacus" not in await wrong.text()


async def test_analyze_tells_an_officer_whether_a_listing_is_known_and_nobody_else(client, peek):
    listing = {"text": "Pangolin scales 1kg", "url": "https://www.ebay.co.uk/itm/284512345678"}
    officer = {"Authorization": f"Bearer {await peek.token('officer', 'GB')}"}
    before = await (await client.post("/api/v1/analyze", json=listing, headers=officer)).json()
    assert before["duplicate"] is False and "case_id" not in before

    report = await client.post("/api/v1/reports", json=listing, headers=officer)
    assert report.status == 201, await report.text()
    case_id = (await report.json())["case_id"]

    # The same item through the mobile site is the same listing.
    again = dict(listing, url="https://m.ebay.co.uk/itm/284512345678?_trksid=p1")
    known = await (await client.post("/api/v1/analyze", json=again, headers=officer)).json()
    assert known["duplicate"] is True
    assert known["case_id"] == case_id and known["case_reports"] == 1

    anonymous = await (await client.post("/api/v1/analyze", json=again)).json()
    assert not {"duplicate", "case_id", "case_reports"} & set(anonymous)
    assert await peek.count(Report) == 1  # analysing stored nothing
