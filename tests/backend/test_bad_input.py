"""Every rejected request gets a JSON error with the right status and stores nothing."""

from __future__ import annotations

import json

import pytest
from aiohttp import FormData

from extension_backend.intake import Intake
from tests.helpers import image_bytes

pytestmark = pytest.mark.usefixtures("nothing_stored")


async def error_of(response, status: int) -> dict:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] and body["error"]["message"]
    return body["error"]


def multipart(report: dict | str | None, *files: tuple[str, bytes, str, str]) -> FormData:
    form = FormData()
    if report is not None:
        text = report if isinstance(report, str) else json.dumps(report)
        form.add_field("report", text, content_type="application/json")
    for name, data, filename, content_type in files:
        form.add_field(name, data, filename=filename, content_type=content_type)
    return form


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"url": "https://example.org/x"', "malformed_json"),
        (b'{"text": "\xff\xfe ivory"}', "invalid_utf8"),
        (b"[" * 100_000 + b"]" * 100_000, "malformed_json"),
    ],
    ids=["truncated", "invalid-utf8", "deeply-nested"],
)
async def test_unparseable_json_is_400(client, body, code):
    response = await client.post(
        "/api/v1/reports", data=body, headers={"Content-Type": "application/json"}
    )
    assert (await error_of(response, 400))["code"] == code


@pytest.mark.parametrize(
    ("report", "field", "code"),
    [
        ({}, "report", "invalid_field"),
        ({"title": "only a title"}, "report", "invalid_field"),
        ({"text": "ivory", "colour": "white"}, "colour", "unknown_field"),
        ({"text": "ivory", "reporter_country": "XX"}, "reporter_country", "invalid_field"),
        ({"text": "ivory", "currency": "EURO"}, "currency", "invalid_field"),
        ({"url": "javascript:alert(1)"}, "url", "invalid_field"),
        ({"url": "https://"}, "url", "invalid_url"),
        ({"text": ["ivory"]}, "text", "invalid_field"),
        ({"text": "ivory", "channel": "carrier-pigeon"}, "channel", "invalid_field"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
async def test_invalid_fields_are_422_naming_the_field(client, report, field, code):
    error = await error_of(await client.post("/api/v1/reports", json=report), 422)
    assert (error["field"], error["code"]) == (field, code)


async def test_a_json_array_is_not_a_report(client):
    error = await error_of(await client.post("/api/v1/reports", json=["ivory"]), 422)
    assert error["code"] == "invalid_body"


async def test_field_length_limits_come_from_settings(make_client, settings):
    client = await make_client(settings.model_copy(update={"max_field_chars": 10}))
    report = {"text": "ivory", "seller": "s" * 11}
    error = await error_of(await client.post("/api/v1/reports", json=report), 422)
    assert error["field"] == "seller"


async def test_wrong_content_type_is_415(client):
    response = await client.post(
        "/api/v1/reports", data="text=ivory", headers={"Content-Type": "text/plain"}
    )
    assert (await error_of(response, 415))["code"] == "unsupported_media_type"


async def test_oversized_body_is_413(make_client, settings):
    client = await make_client(settings.model_copy(update={"max_request_bytes": 2048}))
    response = await client.post("/api/v1/reports", json={"text": "ivory " * 1000})
    assert (await error_of(response, 413))["code"] == "too_large"


async def test_oversized_image_part_is_413(make_client, settings):
    client = await make_client(settings.model_copy(update={"max_image_bytes": 1024}))
    big = image_bytes("PNG", size=(300, 300), color="white") + b"\0" * 2048
    form = multipart({"text": "ivory"}, ("images", big, "a.png", "image/png"))
    error = await error_of(await client.post("/api/v1/reports", data=form), 413)
    assert error["field"] == "images"


async def test_too_many_images_is_413(make_client, settings):
    client = await make_client(settings.model_copy(update={"max_images": 2}))
    files = [("images", image_bytes(), f"{i}.jpg", "image/jpeg") for i in range(3)]
    error = await error_of(
        await client.post("/api/v1/reports", data=multipart({"text": "x"}, *files)), 413
    )
    assert (error["code"], error["field"]) == ("too_many_images", "images")


async def test_image_over_the_pixel_limit_is_413(make_client, settings):
    client = await make_client(settings.model_copy(update={"max_image_pixels": 1000}))
    form = multipart(
        {"text": "ivory"}, ("images", image_bytes(size=(50, 50)), "a.jpg", "image/jpeg")
    )
    error = await error_of(await client.post("/api/v1/reports", data=form), 413)
    assert error["code"] == "image_too_large"


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"this is not an image at all", 415, "not_an_image"),
        (image_bytes()[:300], 422, "corrupt_image"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj", 415, "not_an_image"),
    ],
    ids=["text", "truncated-jpeg", "pdf"],
)
async def test_files_that_are_not_usable_images_are_refused(client, data, status, code):
    form = multipart({"text": "ivory"}, ("images", data, "photo.jpg", "image/jpeg"))
    error = await error_of(await client.post("/api/v1/reports", data=form), status)
    assert (error["code"], error["field"]) == (code, "images")


async def test_unsupported_image_format_is_415(client):
    bmp = image_bytes("BMP")
    form = multipart({"text": "ivory"}, ("images", bmp, "photo.bmp", "image/bmp"))
    error = await error_of(await client.post("/api/v1/reports", data=form), 415)
    assert error["code"] == "unsupported_image"


async def test_snapshot_that_is_not_a_page_is_415(client):
    form = multipart({"text": "ivory"}, ("snapshot", b"\x00\x01binary", "x.bin", "text/html"))
    error = await error_of(await client.post("/api/v1/reports", data=form), 415)
    assert error["field"] == "snapshot"


@pytest.mark.parametrize(
    ("report", "files", "status", "code"),
    [
        (None, [("images", image_bytes(), "a.jpg", "image/jpeg")], 422, "missing_part"),
        ("{not json", [], 400, "malformed_json"),
        ({"text": "x"}, [("passport", b"x", "p.txt", "text/plain")], 422, "unknown_part"),
        (
            {"text": "x"},
            [("screenshot", image_bytes(), "a.jpg", "image/jpeg")] * 2,
            422,
            "repeated_part",
        ),
    ],
    ids=["no-report-part", "bad-json-part", "unknown-part", "two-screenshots"],
)
async def test_malformed_multipart(client, report, files, status, code):
    response = await client.post("/api/v1/reports", data=multipart(report, *files))
    assert (await error_of(response, status))["code"] == code


async def test_malformed_multipart_body_is_400(client):
    response = await client.post(
        "/api/v1/reports",
        data=b"--nope\r\ngarbage",
        headers={"Content-Type": "multipart/form-data"},
    )
    await error_of(response, 400)


async def test_a_failure_mid_transaction_leaves_no_rows_and_no_files(client, monkeypatch):
    def explode(*args, **kwargs):  # inside the report's (synchronous) transaction
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(Intake, "_record_analysis", explode)
    form = multipart({"text": "ivory"}, ("images", image_bytes(), "a.jpg", "image/jpeg"))
    error = await error_of(await client.post("/api/v1/reports", data=form), 500)
    assert error["code"] == "internal"
    assert "fire" not in error["message"]  # internals are logged, not shown


async def test_bad_bearer_header_is_401(client):
    response = await client.post(
        "/api/v1/reports", json={"text": "ivory"}, headers={"Authorization": "Basic abc"}
    )
    assert (await error_of(response, 401))["code"] == "unauthorized"
