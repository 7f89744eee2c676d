"""Evidence links in deliveries: a unit opens the files of its case, nobody else opens any.

A report with a GPS-tagged photo and a page snapshot is delivered to a real webhook
receiver; the links in the payload are then fetched from the service. Each test runs on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from aiohttp import FormData, web
from PIL import Image

from db.engine import create_engine, session_factory
from db.models import AuditEvent, Case, Evidence, Unit
from extension_backend.delivery.channels import build_channels
from extension_backend.delivery.payload import summary_text
from extension_backend.delivery.worker import Worker
from extension_backend.evidence_api import SECRET_FILE, EvidenceLinks, load_link_secret
from extension_backend.settings import Settings
from tests.helpers import IVORY, image_bytes, jpeg, photo

SECRET = "webhook-secret-of-the-gb-unit"
PARROT = {
    "url": "https://www.ebay.co.uk/itm/African-grey/284599999999",
    "text": "African grey parrot, hand reared. Collection in Leeds, United Kingdom.",
    "seller_location": "Leeds, United Kingdom",
}  # routed to GB too, another case
SNAPSHOT = b"<!doctype html><html><body><script>alert(1)</script>Ivory for sale</body></html>"


def gps_photo() -> bytes:
    """A JPEG as a phone writes it: camera make and the GPS position of the reporter."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 24.0)  # GPSLatitude
    gps[3], gps[4] = "E", (2.0, 21.0, 3.0)  # GPSLongitude
    data = image_bytes(size=(96, 64), exif=exif)
    assert b"PhoneMaker" in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.getexif().get_ifd(0x8825)  # the fixture really carries GPS
    return data


@pytest.fixture
async def receiver(aiohttp_server: Any) -> Any:
    """A unit's webhook endpoint: keeps every payload it is sent."""
    payloads: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        payloads.append(json.loads(await request.read()))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", handle)
    server = await aiohttp_server(app)
    return str(server.make_url("/hook")), payloads


@pytest.fixture
async def api(make_client: Any, settings: Settings) -> Any:
    return await make_client(settings.model_copy(update={"delivery_worker": False}))


@pytest.fixture
async def worker(settings: Settings) -> AsyncIterator[Worker]:
    """A worker as the service runs it, sharing the service's data dir (and link secret)."""
    s = settings.model_copy(update={"delivery_worker": False})
    engine = create_engine(s.effective_database_url)
    async with aiohttp.ClientSession() as http:
        yield Worker(s, session_factory(engine), build_channels(http, s), jitter=lambda: 1.0)
    await engine.dispose()


async def set_webhook(settings: Settings, url: str) -> None:
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            unit = await session.get(Unit, "GB")
            assert unit is not None
            unit.channels = [{"type": "webhook", "target": url, "secret": SECRET}]
            session.add(unit)
            await session.commit()
    finally:
        await engine.dispose()


async def submit(api: Any, report: dict[str, Any], *files: tuple[str, bytes, str, str]) -> None:
    form = FormData()
    form.add_field("report", json.dumps(report), content_type="application/json")
    for part, data, filename, content_type in files:
        form.add_field(part, data, filename=filename, content_type=content_type)
    response = await api.post("/api/v1/reports", data=form)
    assert response.status == 201, await response.text()


def path_of(url: str) -> str:
    """A link from a payload (on the public URL) as a path on the test client."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "http://wildflag.test"
    return f"{parts.path}?{parts.query}"


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(path_of(url))
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return f"{parts.path}?{urlencode({**query, **changes})}"


@pytest.fixture
async def delivered(settings: Settings, api: Any, receiver: Any, worker: Worker) -> Any:
    """The ivory report with its photo and snapshot, delivered: the payload the unit got."""
    url, payloads = receiver
    await set_webhook(settings, url)
    await submit(
        api,
        IVORY,
        ("images", gps_photo(), "IMG_0001.jpg", "image/jpeg"),
        ("snapshot", SNAPSHOT, "page.html", "text/html"),
    )
    assert await worker.run_once() == 1
    [payload] = payloads
    return payload


async def test_a_delivered_link_serves_the_stripped_copy_and_each_view_is_audited(
    settings, api, peek, delivered
):
    image, snapshot = delivered["evidence"]
    assert (image["kind"], snapshot["kind"]) == ("image", "snapshot")
    case_id = delivered["case"]["id"]
    assert image["url"].startswith(f"http://wildflag.test/api/v1/evidence/{image['sha256']}?")
    assert image["url"] in summary_text(delivered)  # e-mail and Telegram carry it too

    for _ in range(2):
        response = await api.get(path_of(image["url"]))
        assert response.status == 200, await response.text()
        body = await response.read()
    stored = (settings.evidence_dir / image["sha256"][:2] / image["sha256"][2:4]).joinpath(
        image["sha256"]
    )
    assert body == stored.read_bytes()
    assert hashlib.sha256(body).hexdigest() == image["sha256"] != image["original_sha256"]
    assert b"PhoneMaker" not in body
    with Image.open(io.BytesIO(body)) as served:
        assert not served.getexif() and not served.getexif().get_ifd(0x8825)
    headers = response.headers
    assert headers["Content-Type"] == "image/jpeg"
    assert headers["Cache-Control"] == "private, no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    expected_name = f"wildflag-case-{case_id}-{image['sha256'][:16]}.jpg"
    assert headers["Content-Disposition"] == f'inline; filename="{expected_name}"'
    assert "IMG_0001" not in headers["Content-Disposition"]  # the reporter's name stays in

    page = await api.get(path_of(snapshot["url"]))
    assert page.status == 200
    assert await page.read() == SNAPSHOT
    assert page.headers["Content-Type"] == "text/html"
    assert page.headers["Content-Disposition"].startswith("attachment; ")  # never rendered here
    assert "sandbox" in page.headers["Content-Security-Policy"]

    views = await peek.rows(AuditEvent, AuditEvent.action == "evidence.viewed")
    assert len(views) == 3  # one per view, the repeat included
    delivery = delivered["delivery_id"]
    assert {v.actor for v in views} == {f"link:delivery:{delivery}"}
    by_sha = sorted(v.details["sha256"] for v in views)
    assert by_sha == sorted([image["sha256"], image["sha256"], snapshot["sha256"]])
    assert {(v.details["case"], v.details["unit"], v.details["via"]) for v in views} == {
        (case_id, "GB", "link")
    }


async def test_links_that_do_not_open_a_file_all_get_the_same_404(
    settings, api, peek, delivered, worker
):
    image = delivered["evidence"][0]
    case_id = delivered["case"]["id"]
    query = parse_qs(urlsplit(image["url"]).query)
    sig = query["sig"][0]
    tampered = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    # Another case of the same unit, with its own picture.
    await submit(api, PARROT, ("images", jpeg(photo(7)), "parrot.jpg", "image/jpeg"))
    assert await worker.run_once() == 1
    [other_case] = [c.id for c in await peek.rows(Case) if c.id != case_id]
    [parrot_sha] = {e.sha256 for e in await peek.rows(Evidence) if e.kind == "image"} - {
        image["sha256"]
    }
    other_sha = hashlib.sha256(b"not stored anywhere").hexdigest()
    links = EvidenceLinks.from_settings(settings)
    now = time.time()

    refused = {
        "tampered signature": with_query(image["url"], sig=tampered),
        "another case in the link": with_query(image["url"], case=str(other_case)),
        "a later expiry": with_query(image["url"], expires=str(int(now) + 10**8)),
        "another delivery": with_query(image["url"], delivery="999"),
        "no signature": with_query(image["url"], sig=""),
        "unknown digest": with_query(image["url"]).replace(image["sha256"], other_sha),
        # Signed by this server, but that file is not in that case.
        "another case's file": path_of(links.url(parrot_sha, case_id, 1, now)),
        "a digest in capitals": with_query(image["url"]).replace(
            image["sha256"], image["sha256"].upper()
        ),
        "a case that is no number": with_query(image["url"], case="1 OR 1=1"),
    }
    bodies = set()
    for what, path in refused.items():
        response = await api.get(path)
        assert response.status == 404, what
        bodies.add(await response.text())
    [body] = bodies  # the same answer whatever was wrong: links cannot be probed
    assert json.loads(body)["error"]["code"] == "not_found"

    expired = links.url(image["sha256"], case_id, delivered["delivery_id"], now - 31 * 86400)
    gone = await api.get(path_of(expired))
    assert gone.status == 410
    assert (await gone.json())["error"]["code"] == "link_expired"
    # Expiry is only told to the holder of a link this server signed.
    forged = await api.get(with_query(expired, sig=tampered))
    assert forged.status == 404

    assert await peek.rows(AuditEvent, AuditEvent.action == "evidence.viewed") == []
    # The right link still works: nothing above was refused by accident.
    assert (await api.get(path_of(image["url"]))).status == 200


async def test_a_unit_token_opens_its_cases_files_and_no_others(settings, api, peek, delivered):
    image = delivered["evidence"][0]
    case_id = delivered["case"]["id"]
    path = f"/api/v1/evidence/{image['sha256']}?case={case_id}"

    gb = await peek.token("officer", "GB")
    ok = await api.get(path, headers={"Authorization": f"Bearer {gb}"})
    assert ok.status == 200
    assert hashlib.sha256(await ok.read()).hexdigest() == image["sha256"]
    [view] = await peek.rows(AuditEvent, AuditEvent.action == "evidence.viewed")
    assert view.actor.startswith("account:") and view.details["via"] == "token"
    assert view.details == {**view.details, "sha256": image["sha256"], "case": case_id}

    fr = await peek.token("officer", "FR")
    assert (await api.get(path, headers={"Authorization": f"Bearer {fr}"})).status == 404
    assert (await api.get(path)).status == 404  # no token, no link
    bad = await api.get(path, headers={"Authorization": "Bearer wf_nothing"})
    assert bad.status == 401
    assert len(await peek.rows(AuditEvent, AuditEvent.action == "evidence.viewed")) == 1


async def test_the_link_secret_is_made_once_kept_private_and_can_be_set(settings, tmp_path):
    fresh = settings.model_copy(update={"data_dir": tmp_path / "fresh"})
    first = load_link_secret(fresh)
    assert load_link_secret(fresh) == first and len(first) >= 32
    path = fresh.data_dir / SECRET_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in fresh.data_dir.iterdir()] == [SECRET_FILE]  # no temp file left

    configured = fresh.model_copy(update={"evidence_link_secret": "s" * 40})
    assert load_link_secret(configured) == b"s" * 40
    mine, theirs = EvidenceLinks.from_settings(fresh), EvidenceLinks.from_settings(configured)
    url = mine.url("a" * 64, 1, 2, now=1_800_000_000)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    args = ("a" * 64, 1, query["expires"], query["delivery"], query["sig"])
    assert mine.check(*args, now=1_800_000_000).value == "valid"
    assert theirs.check(*args, now=1_800_000_000).value == "invalid"
    assert mine.check(*args, now=1_800_000_000 + 31 * 86400).value == "expired"


async def test_the_openapi_document_describes_the_evidence_route(api):
    document = await (await api.get("/api/openapi.json")).json()
    get = document["paths"]["/api/v1/evidence/{sha256}"]["get"]
    assert {p["name"] for p in get["parameters"]} == {
        "sha256",
        "case",
        "expires",
        "delivery",
        "sig",
    }
    assert {"200", "401", "404", "410"} <= set(get["responses"])
    assert "image/jpeg" in get["responses"]["200"]["content"]


async def test_a_link_still_opens_its_file_after_the_case_is_merged(
    settings, api, peek, delivered, worker
):
    image = delivered["evidence"][0]
    case_id = delivered["case"]["id"]
    await submit(api, PARROT, ("images", jpeg(photo(7)), "parrot.jpg", "image/jpeg"))
    [other_case] = [c.id for c in await peek.rows(Case) if c.id != case_id]
    token = await peek.token("officer", "GB")
    merged = await api.post(
        f"/api/v1/cases/{case_id}/merge",
        json={"into": other_case, "reason": "same seller"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert merged.status == 200, await merged.text()

    response = await api.get(path_of(image["url"]))  # made for the case before the merge
    assert response.status == 200
    assert hashlib.sha256(await response.read()).hexdigest() == image["sha256"]
