"""Bad requests to POST /api/v1/reports: each gets its exact error and stores nothing.

`test_bad_input.py` covers the basics (truncated JSON, a JSON array, wrong field types and
values, oversized images); this file adds the hostile cases of issue 9: JSON that is
ambiguous or bottomless, bodies and fields over the limits, bytes that are not text,
characters a database refuses, look-alike hosts, and injection strings that must be stored
as typed and shown escaped on every page and in every notification.

Every test runs on SQLite and on PostgreSQL (the `settings` fixture).
"""

from __future__ import annotations

import gzip
import json
import re
from html import escape
from typing import Any

import pytest
from aiohttp import FormData

from db.models import Listing, Report
from extension_backend.delivery.payload import comment_html
from tests.backend import test_delivery as delivery
from tests.backend.conftest import set_channels
from tests.dashboard import conftest as dashboard
from tests.dashboard.conftest import case_of

# Fixtures borrowed from their modules (a fixture is found by its name in this module).
smtp_server = delivery.smtp_server
workers = delivery.workers
dash = dashboard.dash
browser = dashboard.browser
FakeBotApi = delivery.FakeBotApi

JSON = {"Content-Type": "application/json"}

#: What every text field of a report holds in the injection tests: SQL, Jinja and HTML/JS.
SQL = "'; DROP TABLE report; -- \" OR 1=1 /*"
JINJA = "{{7*7}} {% raw %}{{ config }}{% endraw %} ${7*7} #{7*7}"
HTML = "<script>alert(1)</script><img src=x onerror=alert(2)>&amp;\"'"
HOSTILE = f"{SQL} {JINJA} {HTML}"
TEXT_FIELDS = ("title", "text", "seller", "seller_location", "ships_to", "notes")


async def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] and body["error"]["message"]
    return body["error"]


async def post_raw(client: Any, body: bytes, content_type: str = "application/json") -> Any:
    return await client.post("/api/v1/reports", data=body, headers={"Content-Type": content_type})


async def post_report_part(client: Any, part: bytes, *part_headers: str) -> Any:
    """A multipart report whose `report` part is exactly `part`, byte for byte."""
    boundary = "wildflag-test-boundary"
    head = "".join(f"{h}\r\n" for h in part_headers)
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="report"\r\n'
        f"Content-Type: application/json\r\n{head}\r\n"
    ).encode()
    body += part + f"\r\n--{boundary}--\r\n".encode()
    return await post_raw(client, body, f"multipart/form-data; boundary={boundary}")


# --- JSON that is not one plain object -------------------------------------------------


@pytest.mark.usefixtures("nothing_stored")
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"text": "ivory"} trailing', 400, "malformed_json"),
        (b'{"text": "ivory"}{"text": "rhino horn"}', 400, "malformed_json"),
        (b'{"text": "ivory", "price": NaN}', 400, "malformed_json"),
        (b'{"text": "ivory", "price": Infinity}', 400, "malformed_json"),
        (b'{"text": "ivory", "price": -Infinity}', 400, "malformed_json"),
        (b'{"text": "ivory", "price": 1e400}', 400, "malformed_json"),
        (b'{"text": "ivory", "price": 1' + b"0" * 5000 + b"}", 400, "malformed_json"),
        (b'{"text": "ivory", "price": 1' + b"0" * 400 + b"}", 422, "invalid_field"),
        (b'{"text": "ivory", "text": "nothing to see"}', 400, "duplicate_key"),
        (b"{'text': 'ivory'}", 400, "malformed_json"),
        (b"", 400, "malformed_json"),
        (b"   \n", 400, "malformed_json"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, 400, "malformed_json"),
        (b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, "malformed_json"),
        (b'"ivory"', 422, "invalid_body"),
        (b"null", 422, "invalid_body"),
        (b"42", 422, "invalid_body"),
        (b'[{"text": "ivory"}]', 422, "invalid_body"),
        (b'\xef\xbb\xbf{"text": "ivory"}', 400, "malformed_json"),
        (b'{"text": "\xc3\x28 ivory"}', 400, "invalid_utf8"),
        (b'{"text": "\xed\xa0\x80 ivory"}', 400, "invalid_utf8"),  # a surrogate, UTF-8 coded
    ],
    ids=[
        "trailing-garbage",
        "two-objects",
        "NaN",
        "Infinity",
        "minus-Infinity",
        "float-overflow",
        "int-over-4300-digits",
        "int-over-float-range",
        "duplicate-key",
        "single-quotes",
        "empty",
        "only-whitespace",
        "deep-objects",
        "deep-arrays-in-a-field",
        "a-string",
        "null",
        "a-number",
        "an-array-of-objects",
        "byte-order-mark",
        "invalid-utf8",
        "utf8-coded-surrogate",
    ],
)
async def test_json_that_is_not_one_plain_object_is_refused(client, body, status, code):
    """Duplicate keys are refused, not resolved: a proxy or log that keeps the first value
    and a parser that keeps the last would disagree about what was reported."""
    error = await error_of(await post_raw(client, body), status)
    assert error["code"] == code
    if code == "duplicate_key":
        assert error["field"] == "text"


@pytest.mark.usefixtures("nothing_stored")
async def test_deep_nesting_inside_a_multipart_report_part_is_400(client):
    """50,000 levels: 100 kB, under the report part's own size limit, so the parser sees it."""
    response = await post_report_part(client, b"[" * 50_000 + b"]" * 50_000)
    assert (await error_of(response, 400))["code"] == "malformed_json"


@pytest.mark.usefixtures("nothing_stored")
async def test_deep_nesting_on_analyze_is_400(client):
    response = await client.post("/api/v1/analyze", data=b"[" * 100_000, headers=JSON)
    assert (await error_of(response, 400))["code"] == "malformed_json"


# --- sizes -----------------------------------------------------------------------------


@pytest.mark.usefixtures("nothing_stored")
async def test_a_body_over_max_request_bytes_is_413_even_without_a_length(make_client, settings):
    """Chunked transfer has no Content-Length to check up front: the read itself stops."""
    client = await make_client(settings.model_copy(update={"max_request_bytes": 4096}))
    body = json.dumps({"text": "ivory " * 2000}).encode()

    async def chunks():
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    response = await client.post("/api/v1/reports", data=chunks(), headers=JSON)
    assert (await error_of(response, 413))["code"] == "too_large"
    response = await post_raw(client, body)  # with a Content-Length
    assert (await error_of(response, 413))["code"] == "too_large"


@pytest.mark.usefixtures("nothing_stored")
async def test_a_multipart_body_over_max_request_bytes_is_413(make_client, settings):
    client = await make_client(settings.model_copy(update={"max_request_bytes": 4096}))
    form = FormData()
    form.add_field("report", json.dumps({"text": "ivory"}), content_type="application/json")
    form.add_field("snapshot", b"<html>" + b"x" * 8000, filename="p.html", content_type="text/html")
    error = await error_of(await client.post("/api/v1/reports", data=form), 413)
    assert error["code"] == "too_large"


@pytest.mark.usefixtures("nothing_stored")
@pytest.mark.parametrize(
    ("field", "limit", "value"),
    [
        ("text", "max_text_chars", "i" * 51),
        ("notes", "max_text_chars", "n" * 51),
        ("title", "max_field_chars", "t" * 21),
        ("seller", "max_field_chars", "s" * 21),
        ("seller_location", "max_field_chars", "l" * 21),
        ("ships_to", "max_field_chars", "w" * 21),
        ("url", "max_url_chars", "https://www.ebay.co.uk/itm/" + "1" * 40),
    ],
)
async def test_a_field_over_its_limit_is_422_naming_it(make_client, settings, field, limit, value):
    limits = {"max_text_chars": 50, "max_field_chars": 20, "max_url_chars": 40}
    client = await make_client(settings.model_copy(update=limits))
    report = {"text": "ivory", field: value}
    error = await error_of(await client.post("/api/v1/reports", json=report), 422)
    assert (error["code"], error["field"]) == ("invalid_field", field)
    assert str(limits[limit]) in error["message"]


@pytest.mark.usefixtures("nothing_stored")
async def test_the_limit_counts_characters_not_bytes(make_client, settings):
    """20 four-byte characters are 20 characters: within a 20-character limit."""
    client = await make_client(
        settings.model_copy(update={"max_field_chars": 20, "delivery_worker": False})
    )
    response = await client.post("/api/v1/reports", json={"text": "ivory", "seller": "🐘" * 21})
    assert (await error_of(response, 422))["field"] == "seller"


async def test_a_field_at_its_limit_is_stored(make_client, settings, peek):
    client = await make_client(settings.model_copy(update={"max_field_chars": 20}))
    response = await client.post("/api/v1/reports", json={"text": "ivory", "seller": "🐘" * 20})
    assert response.status == 201, await response.text()
    [row] = await peek.rows(Report)
    assert row.seller == "🐘" * 20


@pytest.mark.usefixtures("nothing_stored")
async def test_a_compressed_body_counts_its_inflated_size(make_client, settings):
    """A gzip bomb: 1 kB on the wire, 1 MB inflated, over a 4 kB limit."""
    client = await make_client(settings.model_copy(update={"max_request_bytes": 4096}))
    bomb = gzip.compress(json.dumps({"text": "ivory" + " " * 1_000_000}).encode())
    assert len(bomb) < 4096
    response = await client.post(
        "/api/v1/reports", data=bomb, headers={**JSON, "Content-Encoding": "gzip"}
    )
    assert (await error_of(response, 413))["code"] == "too_large"


@pytest.mark.usefixtures("nothing_stored")
@pytest.mark.parametrize("content_type", ["application/json", "multipart/form-data; boundary=b"])
async def test_a_body_whose_content_encoding_does_not_decode_is_400(client, content_type):
    response = await client.post(
        "/api/v1/reports",
        data=b"\x1f\x8b this is not gzip",
        headers={"Content-Type": content_type, "Content-Encoding": "gzip"},
    )
    assert (await error_of(response, 400))["code"] == "malformed_body"


# --- bytes and characters that are not text --------------------------------------------


@pytest.mark.usefixtures("nothing_stored")
@pytest.mark.parametrize(
    ("part", "status", "code"),
    [
        (b'{"text": "\xff ivory"}', 400, "invalid_utf8"),
        (b'{"text": "ivory"', 400, "malformed_json"),
        (b'{"text": "ivory", "price": NaN}', 400, "malformed_json"),
        (b'{"text": "a", "text": "b"}', 400, "duplicate_key"),
        (b'"ivory"', 422, "invalid_body"),
        (b"", 400, "malformed_json"),
    ],
    ids=["invalid-utf8", "truncated", "NaN", "duplicate-key", "a-string", "empty"],
)
async def test_a_bad_multipart_report_part(client, part, status, code):
    error = await error_of(await post_report_part(client, part), status)
    assert error["code"] == code


@pytest.mark.usefixtures("nothing_stored")
@pytest.mark.parametrize("encoding", ["base64", "x-unheard-of", "quoted-printable"])
async def test_a_report_part_with_a_transfer_encoding_is_handled(client, encoding):
    """Browsers never send Content-Transfer-Encoding; whatever arrives must not be a 500.
    A base64 part holding garbage is unreadable JSON; an unknown encoding is refused."""
    response = await post_report_part(
        client, b"!!not base64, not json=ZZ", f"Content-Transfer-Encoding: {encoding}"
    )
    error = await error_of(response, 400)
    assert error["code"] in {"malformed_json", "malformed_multipart"}


@pytest.mark.usefixtures("nothing_stored")
async def test_a_raw_nul_in_a_part_header_is_400(client):
    """aiohttp's InvalidHeader is no ValueError: it must still be a 400, not a 500."""
    response = await post_report_part(client, b'{"text": "ivory"}', "X-Note: a\x00b")
    assert (await error_of(response, 400))["code"] == "malformed_multipart"


@pytest.mark.usefixtures("nothing_stored")
@pytest.mark.parametrize("field", [*TEXT_FIELDS, "url", "price", "currency", "reporter_country"])
@pytest.mark.parametrize(
    "bad", ["\u0000", "\ud800", "\udfff"], ids=["NUL", "lone-high-surrogate", "lone-low"]
)
async def test_nul_and_lone_surrogates_are_422_naming_the_field(client, field, bad):
    """PostgreSQL refuses NUL in text and no database stores half a UTF-16 pair: refused
    with the field named, never a 500 (the body is escaped JSON, so it parses)."""
    value = f"https://www.ebay.co.uk/itm/1{bad}2" if field == "url" else f"ivory{bad}tusk"
    body = json.dumps({"text": "ivory", field: value}).encode()  # ensure_ascii: \u escapes
    error = await error_of(await post_raw(client, body), 422)
    assert (error["code"], error["field"]) == ("invalid_characters", field)


@pytest.mark.usefixtures("nothing_stored")
async def test_nul_in_a_field_name_is_422(client):
    body = json.dumps({"text": "ivory", "no\u0000te\ud800s": "x"}).encode()
    error = await error_of(await post_raw(client, body), 422)
    assert error["code"] in {"invalid_characters", "unknown_field"}
    json.dumps(error, ensure_ascii=False).encode("utf-8")  # the answer itself is clean text


async def test_a_proper_surrogate_pair_is_one_character_and_stored(client, peek):
    body = b'{"text": "ivory \\ud83d\\udc18", "title": "\\ud83d\\udc18"}'
    response = await post_raw(client, body)
    assert response.status == 201, await response.text()
    [row] = await peek.rows(Report)
    assert (row.text, row.title) == ("ivory 🐘", "🐘")


# --- types, unknown fields and content types -------------------------------------------


@pytest.mark.usefixtures("nothing_stored")
@pytest.mark.parametrize(
    ("report", "field", "code"),
    [
        ({"text": "ivory", "title": 42}, "title", "invalid_field"),
        ({"text": "ivory", "title": True}, "title", "invalid_field"),
        ({"text": "ivory", "title": None, "seller": {"name": "x"}}, "seller", "invalid_field"),
        ({"url": ["https://www.ebay.co.uk/itm/1"]}, "url", "invalid_field"),
        ({"url": 12345}, "url", "invalid_field"),
        ({"text": "ivory", "price": [1]}, "price", "invalid_field"),
        ({"text": "ivory", "price": True}, "price", "invalid_field"),
        ({"text": "ivory", "Text": "x"}, "Text", "unknown_field"),
        ({"text": "ivory", "case_id": 1}, "case_id", "unknown_field"),
        ({"text": "ivory", "__proto__": {"admin": True}}, "__proto__", "unknown_field"),
        ({"text": "ivory", "": "x"}, "", "unknown_field"),
    ],
    ids=lambda v: None if isinstance(v, dict) else str(v),
)
async def test_wrong_types_and_unknown_fields_are_422_naming_the_field(client, report, field, code):
    error = await error_of(await client.post("/api/v1/reports", json=report), 422)
    assert (error["code"], error["field"]) == (code, field)


@pytest.mark.usefixtures("nothing_stored")
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b'{"text": "ivory"}'),
        ("text/plain; charset=utf-8", b'{"text": "ivory"}'),
        ("application/x-www-form-urlencoded", b"text=ivory&url=https%3A%2F%2Fexample.org"),
        ("application/xml", b"<report><text>ivory</text></report>"),
        ("application/octet-stream", b'{"text": "ivory"}'),
        ("application/json-seq", b'\x1e{"text": "ivory"}\n'),
    ],
)
async def test_a_wrong_content_type_is_415_saying_what_to_send(client, content_type, body):
    error = await error_of(await post_raw(client, body, content_type), 415)
    assert error["code"] == "unsupported_media_type"
    assert "application/json" in error["message"] and "multipart/form-data" in error["message"]


@pytest.mark.usefixtures("nothing_stored")
async def test_no_content_type_and_no_body(client):
    response = await client.post("/api/v1/reports", data=b"", skip_auto_headers=["Content-Type"])
    assert (await error_of(response, 415))["code"] == "unsupported_media_type"
    response = await client.post("/api/v1/reports", data=b"", headers=JSON)
    assert response.request_info.headers["Content-Length"] == "0"
    assert (await error_of(response, 400))["code"] == "malformed_json"


async def test_a_charset_parameter_on_json_is_accepted(client, peek):
    response = await post_raw(
        client, '{"text": "ivoire d’éléphant"}'.encode(), "application/json; charset=UTF-8"
    )
    assert response.status == 201, await response.text()
    assert [r.text for r in await peek.rows(Report)] == ["ivoire d’éléphant"]


# --- look-alike hosts ------------------------------------------------------------------


REAL = "https://www.ebay.co.uk/itm/284512345678"


@pytest.mark.parametrize(
    "lookalike",
    [
        "https://www.ebаy.co.uk/itm/284512345678",  # Cyrillic а
        "https://www.ebay.co.uk\u2024evil.example/itm/284512345678",  # one dot leader
        "https://www.еbay.co.uk/itm/284512345678",  # Cyrillic е
        "https://www.xn--eby-7cd.co.uk/itm/284512345678",  # the Cyrillic host, IDNA-coded
    ],
    ids=["cyrillic-a", "dot-leader", "cyrillic-e", "punycode"],
)
async def test_a_homograph_host_is_not_the_real_platform(client, peek, lookalike):
    """A look-alike host is another site: it gets its own listing key (or is refused),
    never the real listing's, so it cannot join or probe the real listing's case."""
    real = await client.post("/api/v1/reports", json={"url": REAL, "text": "ivory"})
    assert real.status == 201, await real.text()
    fake = await client.post("/api/v1/reports", json={"url": lookalike, "text": "ivory"})
    if fake.status == 422:
        assert (await fake.json())["error"]["field"] == "url"
        assert await peek.count(Report) == 1
        return
    assert fake.status == 201, await fake.text()
    listings = await peek.rows(Listing)
    assert len(listings) == 2 and len({row.url_key for row in listings}) == 2
    assert len({row.case_id for row in await peek.rows(Report)}) == 2


@pytest.mark.usefixtures("nothing_stored")
@pytest.mark.parametrize(
    "url",
    [
        "https://www.ebay.co.uk\u202e/moc.elgoog/itm/1",  # right-to-left override
        "https://www.ebay.co.uk/itm/1\u202egpj.exe",
        "https://\u202ewww.ebay.co.uk/itm/1",
        "https://www.ebay.co.uk/itm/1\u200b",  # zero-width space
        "https://www.ebay.co.uk/itm/\u2066x\u2069",  # isolates
    ],
    ids=["rlo-host", "rlo-path", "rlo-first", "zero-width", "isolates"],
)
async def test_bidi_and_invisible_characters_in_a_url_are_422(client, url):
    """A URL that reads differently from what it is cannot identify a listing."""
    error = await error_of(await client.post("/api/v1/reports", json={"url": url}), 422)
    assert (error["code"], error["field"]) == ("invalid_url", "url")


# --- injection strings: stored as typed, shown escaped everywhere ----------------------


def hostile_report() -> dict[str, Any]:
    """A report routed to GB whose every text field carries SQL, Jinja and HTML/JS."""
    return {
        "url": "https://www.ebay.co.uk/itm/Carved-tusk/284512345678?q=%3Cscript%3E",
        **{field: f"elephant ivory {HOSTILE}" for field in TEXT_FIELDS},
        "seller_location": f"London, United Kingdom {HOSTILE}",
        "price": f"1200 {SQL}",
        "reporter_country": "GB",
    }


def assert_no_raw_injection(html: str) -> None:
    """None of the injection strings appears unescaped, and no template evaluated them."""
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "{{ config }}" not in html or "{% raw %}" in html  # raw block not interpreted
    assert " 49 " not in html  # {{7*7}} was not evaluated


async def test_injection_strings_are_stored_verbatim(client, peek):
    report = hostile_report()
    response = await client.post("/api/v1/reports", json=report)
    assert response.status == 201, await response.text()
    [row] = await peek.rows(Report)
    for field in (*TEXT_FIELDS, "price"):
        assert getattr(row, field) == report[field], field
    assert await peek.count(Report) == 1  # the SQL did not run (the table is still there)


async def test_injection_strings_are_escaped_on_the_status_page(client):
    response = await client.post("/api/v1/reports", json=hostile_report())
    receipt = await response.json()
    page = await client.post(
        f"/status/{receipt['reference']}", data={"receipt": receipt["receipt_token"]}
    )
    html = await page.text()
    assert page.status == 200 and receipt["reference"] in html
    assert_no_raw_injection(html)
    # The reference in the address is shown too: escaped, never evaluated.
    page = await client.get("/status/%3Cscript%3Ealert(1)%3Cimg%20src=x%3E%20'%22")
    html = await page.text()
    assert page.status == 200
    assert escape("<script>alert(1)<img src=x> '\"") in html.replace("&#39;", "&#x27;").replace(
        "&#34;", "&quot;"
    )
    assert_no_raw_injection(html)
    # Braces are no reference at all: a JSON 404, not a template evaluation.
    page = await client.get("/status/%7B%7B7*7%7D%7D")
    assert (await error_of(page, 404))["code"] == "not_found"


async def test_injection_strings_are_escaped_on_the_dashboard_case_page(dash, browser, settings):
    response = await dash.post("/api/v1/reports", json=hostile_report())
    assert response.status == 201, await response.text()
    reference = (await response.json())["reference"]
    case_id = await case_of(settings, reference)
    officer = await browser("officer", "GB")
    page, html = await officer.get(f"/app/cases/{case_id}")
    assert page.status == 200, html
    for field in ("title", "text", "seller", "notes"):
        # Shown, and shown escaped (Jinja escapes quotes as &#34; and &#39;).
        assert escape(f"elephant ivory {HOSTILE}") in html.replace("&#34;", "&quot;").replace(
            "&#39;", "&#x27;"
        ), field
    assert_no_raw_injection(html)
    page, html = await officer.get("/app")
    assert page.status == 200
    assert_no_raw_injection(html)


async def test_html_in_report_fields_goes_out_as_plain_text_in_mail_and_chat(
    settings, make_client, peek, smtp_server, workers, aiohttp_server
):
    """Case notifications are plain text: e-mail with a text/plain body only, Telegram
    without `parse_mode`, so nothing a reporter typed can become markup or a link label."""
    from aiohttp import web

    bot_api = FakeBotApi()
    app = web.Application()
    app.router.add_post("/bot{token}/sendMessage", bot_api.send_message)
    server = await aiohttp_server(app)
    await set_channels(
        settings,
        "GB",
        [
            {"type": "email", "target": "nwcu@example.org"},
            {"type": "telegram", "target": "-1001234567890"},
        ],
    )
    api = await make_client(settings.model_copy(update={"delivery_worker": False}))
    report = hostile_report()
    response = await api.post("/api/v1/reports", json=report)
    assert response.status == 201, await response.text()
    worker = await workers(
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        telegram_token="123:TEST",
        telegram_api_url=str(server.make_url("")),
    )
    assert await worker.run_once() == 2

    [(_, message)] = smtp_server.messages
    assert [part.get_content_type() for part in message.walk() if not part.is_multipart()] == [
        "text/plain",
        "application/json",
    ]
    text = message.get_body(("plain",)).get_content()
    assert report["title"] in text and report["seller"] in text
    assert "\nCase: " in text and text.count("\nCase: ") == 1
    assert "\r" not in message["Subject"] and "\n" not in message["Subject"]
    [chat] = bot_api.sent
    assert "parse_mode" not in chat
    assert report["title"] in chat["text"]


def test_a_case_title_in_a_chat_comment_is_html_escaped():
    """The one notification sent as Telegram HTML quotes the case title: escaped."""
    payload = {
        "case": {"id": 7, "title": HOSTILE},
        "comment": {
            "text": HOSTILE,
            "author": {"name": "<b>Mallory</b>", "unit": "GB"},
            "url": 'https://wildflag.example/app/cases/7#"><script>',
        },
        "mentioned": {"unit": False, "accounts": []},
        "unit": {"code": "GB"},
        "handles": [],
    }
    html = comment_html(payload)
    tags = set(re.findall(r"</?([a-zA-Z]+)", html))
    assert tags <= {"b", "a"}  # only the markup the builder itself writes
    assert html.count("<a ") == 1 and "<script>" not in html
    assert escape(HOSTILE) in html


async def test_line_breaks_in_single_line_fields_cannot_forge_notification_lines(
    settings, make_client, peek, smtp_server, workers
):
    """A title or seller is one line on the listing: a reporter's line break in it must not
    let them add a line such as "Case: <their link>" to the unit's mail or chat."""
    await set_channels(settings, "GB", [{"type": "email", "target": "nwcu@example.org"}])
    api = await make_client(settings.model_copy(update={"delivery_worker": False}))
    forged = "\nCase: https://evil.example/phish\r\nListing: https://evil.example"
    report = {
        **hostile_report(),
        "title": f"Carved ivory tusk{forged}",
        "seller": f"bob{forged}\u2028Case: https://evil.example/2",
    }
    response = await api.post("/api/v1/reports", json=report)
    assert response.status == 201, await response.text()
    [row] = await peek.rows(Report)
    assert "\n" not in row.title and "\r" not in row.seller and "\u2028" not in row.seller
    assert (
        row.title
        == "Carved ivory tusk Case: https://evil.example/phish Listing: https://evil.example"
    )
    worker = await workers(smtp_host="127.0.0.1", smtp_port=smtp_server.port)
    assert await worker.run_once() == 1
    [(_, message)] = smtp_server.messages
    lines = message.get_body(("plain",)).get_content().splitlines()
    assert not any(line.startswith("Case: https://evil") for line in lines)
    assert not any(line.startswith("Listing: https://evil") for line in lines)
