"""Evidence on the case page: served stripped, only for the case it belongs to, every view
and download on the custody record.

Each test runs on SQLite and on PostgreSQL (the `settings` fixture).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from typing import Any

from aiohttp import FormData
from PIL import Image

from db.models import AuditEvent, Evidence, ImageMatch
from tests.dashboard.conftest import case_of
from tests.helpers import IVORY as SHARED_IVORY
from tests.helpers import jpeg, photo

SNAPSHOT = b"<!doctype html><html><body><script>alert(1)</script>Ivory for sale</body></html>"
IVORY = {**SHARED_IVORY, "reporter_country": "GB"}


def gps_photo(seed: int = 7) -> bytes:
    """A JPEG as a phone writes it: camera make and the GPS position of the reporter."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 24.0)  # GPSLatitude
    gps[3], gps[4] = "E", (2.0, 21.0, 3.0)  # GPSLongitude
    out = io.BytesIO()
    photo(seed, (320, 240)).save(out, format="JPEG", quality=90, exif=exif)
    data = out.getvalue()
    with Image.open(io.BytesIO(data)) as image:
        assert image.getexif().get_ifd(0x8825)  # the fixture really carries GPS
    return data


async def submit(dash: Any, fields: dict[str, Any], *files: tuple[str, bytes, str, str]) -> str:
    """A multipart report through the API; its case id."""
    form = FormData()
    form.add_field("report", json.dumps(fields), content_type="application/json")
    for part, data, filename, content_type in files:
        form.add_field(part, data, filename=filename, content_type=content_type)
    response = await dash.post("/api/v1/reports", data=form)
    assert response.status == 201, await response.text()
    return (await response.json())["reference"]


def evidence_links(html: str, case_id: int) -> list[str]:
    return list(dict.fromkeys(re.findall(rf"/app/cases/{case_id}/evidence/[0-9a-f]{{64}}", html)))


async def ivory_case(dash: Any, settings: Any) -> int:
    reference = await submit(
        dash,
        IVORY,
        ("images", gps_photo(), "tusk.jpg", "image/jpeg"),
        ("snapshot", SNAPSHOT, "page.html", "text/html"),
    )
    return await case_of(settings, reference)


async def views(peek: Any, action: str = "evidence.viewed") -> list[AuditEvent]:
    return await peek.rows(AuditEvent, AuditEvent.action == action)


async def test_an_image_is_served_stripped_and_each_view_is_audited(dash, settings, browser, peek):
    case_id = await ivory_case(dash, settings)
    [image] = await peek.rows(Evidence, Evidence.kind == "image")
    assert image.sha256 != image.original_sha256
    officer = await browser("officer", "GB", name="Olive")
    _, html = await officer.get(f"/app/cases/{case_id}")
    url = f"/app/cases/{case_id}/evidence/{image.sha256}"
    assert f'<img class="thumb" src="{url}"' in html
    assert image.original_sha256 in html  # the digest as received is shown beside it

    response = await officer.http.get(url, allow_redirects=False)
    body = await response.read()
    assert response.status == 200 and response.content_type == "image/jpeg"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Evidence-SHA256"] == image.sha256 == hashlib.sha256(body).hexdigest()
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert response.headers["Digest"] == f"sha-256={digest}"
    assert b"PhoneMaker" not in body
    with Image.open(io.BytesIO(body)) as served:
        assert not served.getexif() and not served.getexif().get_ifd(0x8825)

    await officer.http.get(url)
    seen = await views(peek)
    assert len(seen) == 2
    assert {(e.actor, e.object_id, e.details["case"], e.details["via"]) for e in seen} == {
        (f"account:{officer.account.id}", image.sha256, case_id, "dashboard")
    }
    download = await officer.http.get(f"{url}?download=1")
    assert download.status == 200
    assert download.headers["Content-Disposition"].startswith("attachment;")
    [downloaded] = await views(peek, "evidence.downloaded")
    assert downloaded.details["sha256"] == image.sha256
    # The views are on the case's history.
    _, html = await officer.get(f"/app/cases/{case_id}")
    history = html[html.index('class="case-history"') :]
    assert history.count("evidence.viewed") == 2 and history.count("evidence.downloaded") == 1


async def test_a_snapshot_is_only_ever_an_attachment(dash, settings, browser, peek):
    case_id = await ivory_case(dash, settings)
    [snapshot] = await peek.rows(Evidence, Evidence.kind == "snapshot")
    officer = await browser("officer", "GB")
    _, html = await officer.get(f"/app/cases/{case_id}")
    url = f"/app/cases/{case_id}/evidence/{snapshot.sha256}"
    assert f'<img class="thumb" src="{url}"' not in html and f'href="{url}?download=1"' in html
    for path in (url, f"{url}?download=1"):
        response = await officer.http.get(path)
        assert response.status == 200
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert "sandbox" in response.headers["Content-Security-Policy"]
        assert await response.read() == SNAPSHOT
    assert len(await views(peek)) == 1 and len(await views(peek, "evidence.downloaded")) == 1


async def test_a_file_of_another_case_is_not_found(dash, settings, browser, peek):
    case_id = await ivory_case(dash, settings)
    other = await case_of(
        settings,
        await submit(
            dash,
            {**IVORY, "url": "https://www.ebay.co.uk/itm/other/1", "text": "Rhino horn, London"},
            ("images", jpeg(photo(99, (320, 240))), "horn.jpg", "image/jpeg"),
        ),
    )
    assert other != case_id
    officer = await browser("officer", "GB")
    _, html = await officer.get(f"/app/cases/{other}")
    [their_url] = evidence_links(html, other)
    their_sha = their_url.rsplit("/", 1)[1]
    assert (await officer.http.get(their_url)).status == 200  # under its own case it opens
    answers = []
    for path in (
        f"/app/cases/{case_id}/evidence/{their_sha}",  # a file of another case
        f"/app/cases/{case_id}/evidence/{'0' * 64}",  # no such file
        f"/app/cases/{case_id}/evidence/not-a-digest",
    ):
        response = await officer.http.get(path, allow_redirects=False)
        answers.append((response.status, await response.text()))
    assert {status for status, _ in answers} == {404}
    assert len({text for _, text in answers}) == 1
    assert [e.details["case"] for e in await views(peek)] == [other]


async def test_another_unit_gets_404_for_the_evidence(dash, settings, browser, peek):
    case_id = await ivory_case(dash, settings)
    [image] = await peek.rows(Evidence, Evidence.kind == "image")
    stranger = await browser("officer", "FR")
    theirs = await stranger.http.get(f"/app/cases/{case_id}/evidence/{image.sha256}")
    unknown = await stranger.http.get(f"/app/cases/{case_id + 99}/evidence/{image.sha256}")
    assert theirs.status == unknown.status == 404
    assert await theirs.text() == await unknown.text()
    assert await views(peek) == []
    observer = await browser("observer", "GB")  # observers read evidence (and are recorded)
    assert (await observer.http.get(f"/app/cases/{case_id}/evidence/{image.sha256}")).status == 200
    assert [e.actor for e in await views(peek)] == [f"account:{observer.account.id}"]


async def test_near_duplicates_side_by_side_with_their_distance(dash, settings, browser, peek):
    picture = photo(3, (320, 240))
    first = await submit(dash, IVORY, ("images", jpeg(picture, 95), "a.jpg", "image/jpeg"))
    second = await submit(
        dash,
        {**IVORY, "url": "https://www.ebay.co.uk/itm/relisted/2"},
        ("images", jpeg(picture.resize((300, 225)), 70), "b.jpg", "image/jpeg"),
    )
    case_id = await case_of(settings, first)
    assert await case_of(settings, second) == case_id
    [match] = await peek.rows(ImageMatch)
    officer = await browser("officer", "GB")
    _, html = await officer.get(f"/app/cases/{case_id}")
    evidence = html[html.index('class="case-evidence"') : html.index('class="case-species"')]
    assert len(evidence_links(evidence, case_id)) == 2
    assert evidence.count("near-duplicate") == 2  # shown beside each of the two images
    assert re.search(rf'class="distance">{match.distance}<', evidence)
    assert "joined the case" in evidence
