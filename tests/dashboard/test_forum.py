"""A case's forum: who may read and write, mentions, and notifications through the outbox.

Notifications go through the real delivery worker to a real webhook receiver, a local SMTP
server and a fake Telegram Bot API on loopback, as in `tests/backend/test_delivery.py`.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import select

from db.cases import merge_cases, share_case
from db.engine import create_engine, session_factory
from db.models import AuditEvent, Case, CaseComment, Delivery, Report, Unit
from extension_backend.dashboard.forum import MAX_COMMENT, forum_section
from extension_backend.delivery.channels import build_channels
from extension_backend.delivery.worker import Worker
from extension_backend.pages import TEMPLATES
from extension_backend.settings import Settings
from extension_backend.web_auth import SignedIn
from tests.backend.conftest import set_channels
from tests.backend.test_delivery import SECRET, FakeBotApi, FakeClock, Mailbox, Receiver
from tests.dashboard.conftest import add_account, case_of, report

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The service without its own delivery worker: the tests drive one."""
    return settings.model_copy(update={"delivery_worker": False})


@pytest.fixture
async def receiver(aiohttp_server: Any) -> Receiver:
    recv = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", recv.handle)
    server = await aiohttp_server(app)
    recv.url = str(server.make_url("/hook"))  # type: ignore[attr-defined]
    return recv


@pytest.fixture
def smtp_server() -> Any:
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.port = port  # type: ignore[attr-defined]
    yield mailbox
    controller.stop()


@pytest.fixture
async def bot_api(aiohttp_server: Any) -> FakeBotApi:
    api = FakeBotApi()
    app = web.Application()
    app.router.add_post("/bot{token}/sendMessage", api.send_message)
    server = await aiohttp_server(app)
    api.url = str(server.make_url(""))  # type: ignore[attr-defined]
    return api


@pytest.fixture
async def worker(settings: Settings, smtp_server: Any, bot_api: Any) -> Any:
    s = settings.model_copy(
        update={
            "delivery_worker": False,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_server.port,
            "telegram_token": "123:TEST",
            "telegram_api_url": bot_api.url,
        }
    )
    engine = create_engine(s.effective_database_url)
    http = aiohttp.ClientSession()
    yield Worker(
        s, session_factory(engine), build_channels(http, s), clock=FakeClock(), jitter=lambda: 1.0
    )
    await http.close()
    await engine.dispose()


async def run(worker: Worker) -> int:
    """One pass of the worker, at a time after every row written so far became due."""
    worker.clock.now = FakeClock().now  # type: ignore[attr-defined]
    return await worker.run_once()


async def in_db(settings: Settings, work: Any) -> Any:
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


async def share(settings: Settings, case_id: int, code: str) -> None:
    async def work(session: Any) -> None:
        case = await session.get(Case, case_id)
        await share_case(
            session, case, await session.get(Unit, code), "the seller ships from there"
        )

    await in_db(settings, work)


async def gb_case(dash: Any, settings: Settings, **fields: Any) -> int:
    return await case_of(settings, (await report(dash, **fields))["reference"])


async def comment_rows(peek: Any) -> list[CaseComment]:
    return await peek.rows(CaseComment)


async def test_a_comment_notifies_the_other_unit_once_and_not_the_authors(
    dash, settings, peek, browser, receiver, worker
):
    case_id = await gb_case(dash, settings)
    await share(settings, case_id, "FR")
    await set_channels(
        settings, "FR", [{"type": "webhook", "target": receiver.url, "secret": SECRET}]
    )
    await set_channels(
        settings, "GB", [{"type": "webhook", "target": receiver.url + "/gb", "secret": SECRET}]
    )
    gb = await browser("officer", "GB", name="Alice Martin")
    await gb.get(f"/app/cases/{case_id}")

    text = "@FR the seller ships from Lyon.\nCan you check?"
    response, _ = await gb.post(f"/app/cases/{case_id}/comments", {"body": text})
    assert response.status == 303
    assert response.headers["Location"] == f"/app/cases/{case_id}#forum"

    [comment] = await comment_rows(peek)
    assert (comment.body, comment.unit_code, comment.account_id) == (text, "GB", gb.account.id)
    assert comment.mentions["units"] == ["FR"] and comment.mentions["accounts"] == []
    rows = await peek.rows(Delivery, Delivery.topic == f"comment:{comment.id}")
    assert sorted((r.unit_code, r.channel, r.state) for r in rows) == [
        ("FR", "dashboard", "sent"),
        ("FR", "webhook", "pending"),
    ]  # GB wrote it: GB is not notified of its own comment
    [latest] = await peek.rows(Report, Report.case_id == case_id)
    assert {r.report_id for r in rows} == {latest.id}

    assert await run(worker) == 1
    assert await run(worker) == 0
    [request] = receiver.requests  # once
    payload = json.loads(request["body"])
    assert payload["event"] == "case.comment"
    assert payload["case"]["id"] == case_id
    assert payload["comment"]["text"] == text
    assert payload["comment"]["author"] == {"name": "Alice Martin", "unit": "GB"}
    assert payload["comment"]["url"] == (
        f"http://wildflag.test/app/cases/{case_id}#comment-{comment.id}"
    )
    assert payload["mentions"] == {"units": ["FR"], "accounts": []}
    assert payload["mentioned"] == {"unit": True, "accounts": []}
    assert request["headers"]["Idempotency-Key"] == next(
        r.idempotency_key for r in rows if r.channel == "webhook"
    )
    [event] = await peek.rows(AuditEvent, AuditEvent.action == "case.commented")
    assert event.object_id == str(case_id) and event.actor == f"account:{gb.account.id}"
    assert event.details["comment"] == comment.id


async def test_the_comment_is_shown_escaped_with_its_anchor_and_line_breaks(
    dash, settings, browser
):
    case_id = await gb_case(dash, settings)
    gb = await browser("officer", "GB", name="Alice <b>Martin</b>")
    body = f"first line\n{XSS}\n@GB"
    response, _ = await gb.post(f"/app/cases/{case_id}/comments", {"body": body})
    assert response.status == 303

    response, html = await gb.get(f"/app/cases/{case_id}")
    assert response.status == 200
    assert '<script>alert("x")' not in html and "<img src=x" not in html
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    )
    assert "Alice &lt;b&gt;Martin&lt;/b&gt;" in html
    assert 'id="comment-' in html and "first line\n&lt;script&gt;" in html  # pre-wrap keeps \n
    assert '<strong class="mention">@GB</strong>' in html


async def test_forum_template_renders_from_the_section_alone(dash, settings, browser):
    """The section function and template, without the case page around them."""
    case_id = await gb_case(dash, settings)
    gb = await browser("officer", "GB")
    await gb.post(f"/app/cases/{case_id}/comments", {"body": XSS})

    async def build(session: Any) -> dict[str, Any]:
        case = await session.get(Case, case_id)
        me = SignedIn(principal=_principal(gb.account), session_id=0, csrf_token="tok", email="")
        return {"forum": await forum_section(session, case, me), "case": case, "me": me}

    context = await in_db(settings, build)
    html = TEMPLATES.get_template("dashboard/_forum.html").render(csrf_token="tok", **context)
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert f'action="/app/cases/{case_id}/comments"' in html
    assert 'name="csrf_token" value="tok"' in html
    assert f'maxlength="{MAX_COMMENT}"' in html


def _principal(account: Any) -> Any:
    from extension_backend.auth import Principal

    return Principal(account.id, account.role, account.unit_code, account.name)


async def test_another_units_officer_gets_404_and_stores_nothing(dash, settings, peek, browser):
    case_id = await gb_case(dash, settings)
    de = await browser("officer", "DE")
    await de.get("/app")
    response, html = await de.post(f"/app/cases/{case_id}/comments", {"body": "hello"})
    assert response.status == 404
    unknown, _ = await de.post("/app/cases/999999/comments", {"body": "hello"})
    assert unknown.status == 404 and "hello" not in html
    response, _ = await de.get(f"/app/cases/{case_id}")
    assert response.status == 404
    assert await comment_rows(peek) == []
    assert await peek.rows(AuditEvent, AuditEvent.action == "case.commented") == []


async def test_another_unit_never_reads_the_forum(dash, settings, browser):
    case_id = await gb_case(dash, settings)
    gb = await browser("officer", "GB")
    await gb.post(f"/app/cases/{case_id}/comments", {"body": "secret between GB and FR"})
    de = await browser("officer", "DE", email="de@units.example")
    for path in ("/app", f"/app/cases/{case_id}", "/app/platforms"):
        _, html = await de.get(path)
        assert "secret between GB and FR" not in html


async def test_comments_need_the_csrf_token_and_our_origin(dash, settings, peek, browser):
    case_id = await gb_case(dash, settings)
    gb = await browser("officer", "GB")
    await gb.get("/app")
    response, _ = await gb.post(f"/app/cases/{case_id}/comments", {"body": "hi"}, csrf=False)
    assert response.status == 403
    response, _ = await gb.post(
        f"/app/cases/{case_id}/comments", {"body": "hi"}, origin="https://evil.example"
    )
    assert response.status == 403
    response, _ = await gb.post(
        f"/app/cases/{case_id}/comments", {"body": "hi", "csrf_token": "forged"}
    )
    assert response.status == 403
    assert await comment_rows(peek) == []


async def test_observers_take_part_in_the_exchange(dash, settings, peek, browser):
    """A Management Authority (observer) comments; commenting is not changing the case."""
    case_id = await gb_case(dash, settings)
    observer = await browser("observer", "GB")
    response, html = await observer.get(f"/app/cases/{case_id}")
    assert response.status == 200 and f'action="/app/cases/{case_id}/comments"' in html
    response, _ = await observer.post(f"/app/cases/{case_id}/comments", {"body": "CITES MA here"})
    assert response.status == 303
    [comment] = await comment_rows(peek)
    assert comment.account_id == observer.account.id
    other = await browser("observer", "DE")
    response, _ = await other.post(f"/app/cases/{case_id}/comments", {"body": "me too"})
    assert response.status == 404


async def test_a_coordinator_writes_on_any_case_and_every_unit_hears(dash, settings, peek, browser):
    case_id = await gb_case(dash, settings)
    await share(settings, case_id, "FR")
    coordinator = await browser("coordinator", None)
    response, _ = await coordinator.post(f"/app/cases/{case_id}/comments", {"body": "status?"})
    assert response.status == 303
    [comment] = await comment_rows(peek)
    rows = await peek.rows(Delivery, Delivery.topic == f"comment:{comment.id}")
    assert sorted(r.unit_code for r in rows) == ["FR", "GB"]  # dashboard rows of both


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("   \n ", "the comment is empty"),
        ("x" * (MAX_COMMENT + 1), "at most 5,000 characters"),
        ("@DE have a look", "not shared with DE: share it first"),
    ],
)
async def test_a_comment_that_cannot_be_posted_is_refused_and_kept(
    dash, settings, peek, browser, body, message
):
    case_id = await gb_case(dash, settings)
    gb = await browser("officer", "GB")
    response, html = await gb.post(f"/app/cases/{case_id}/comments", {"body": body})
    assert response.status == 422 and message in html
    if body.strip():
        assert body[:100] in html  # the text typed is not lost
    assert await comment_rows(peek) == []
    assert await peek.rows(Delivery, Delivery.topic != "") == []
    assert not [u for u in await peek.rows(Delivery) if u.unit_code == "DE"]  # not shared


async def test_a_comment_of_exactly_the_limit_is_posted(dash, settings, peek, browser):
    case_id = await gb_case(dash, settings)
    gb = await browser("officer", "GB")
    response, _ = await gb.post(f"/app/cases/{case_id}/comments", {"body": "y" * MAX_COMMENT})
    assert response.status == 303 and len((await comment_rows(peek))[0].body) == MAX_COMMENT


async def test_a_mentioned_colleague_is_told_through_chat_and_mail_with_text_escaped(
    dash, settings, peek, browser, worker, smtp_server, bot_api
):
    case_id = await gb_case(dash, settings)
    await set_channels(
        settings,
        "GB",
        [
            {"type": "email", "target": "nwcu@example.org"},
            {"type": "telegram", "target": "-1001234567890"},
        ],
    )
    colleague = await add_account(
        settings, "officer", "GB", email="bob.stone@nwcu.example", name="Bob Stone"
    )
    author = await browser("officer", "GB", name="Alice")
    body = f"@bob.stone look at this {XSS} & the seller @ivory_king"
    response, _ = await author.post(f"/app/cases/{case_id}/comments", {"body": body})
    assert response.status == 303
    [comment] = await comment_rows(peek)
    assert comment.mentions["accounts"] == [colleague.id] and comment.mentions["units"] == []
    rows = await peek.rows(Delivery, Delivery.topic == f"comment:{comment.id}")
    assert sorted(r.channel for r in rows) == ["dashboard", "email", "telegram"]
    assert {r.unit_code for r in rows} == {"GB"}  # the author's unit, for the mention

    assert await run(worker) == 2
    [chat] = bot_api.sent
    assert chat["chat_id"] == -1001234567890 and chat["parse_mode"] == "HTML"
    assert "<script>" not in chat["text"] and "<img" not in chat["text"]
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x" in chat["text"]
    assert "&amp; the seller @ivory_king" in chat["text"]  # not a mention: not bold
    assert "<b>@bob.stone</b>" in chat["text"]
    assert "It mentions Bob Stone." in chat["text"]
    assert f"#comment-{comment.id}" in chat["text"]
    assert "reply_markup" not in chat  # no case buttons under a comment

    [(recipients, message)] = smtp_server.messages
    assert recipients == ["nwcu@example.org"]
    assert message["Subject"] == f"[wildflag] case {case_id}: comment by Alice (GB) (mentions you)"
    assert message.get_body(("html",)) is None  # plain text only
    text = message.get_body(("plain",)).get_content()
    assert body in text  # exactly as written, nothing to interpret in plain text
    assert f"http://wildflag.test/app/cases/{case_id}#comment-{comment.id}" in text
    [attachment] = list(message.iter_attachments())
    assert json.loads(attachment.get_content())["comment"]["id"] == comment.id


async def test_two_comments_are_two_notifications(dash, settings, peek, browser, receiver, worker):
    case_id = await gb_case(dash, settings)
    await share(settings, case_id, "FR")
    await set_channels(
        settings, "FR", [{"type": "webhook", "target": receiver.url, "secret": SECRET}]
    )
    gb = await browser("officer", "GB")
    for text in ("first", "second"):
        response, _ = await gb.post(f"/app/cases/{case_id}/comments", {"body": text})
        assert response.status == 303
    assert await run(worker) == 2
    assert sorted(json.loads(r["body"])["comment"]["text"] for r in receiver.requests) == [
        "first",
        "second",
    ]
    assert len(receiver.keys()) == 2


async def test_a_merged_case_takes_no_comments_and_its_forum_follows(dash, settings, peek, browser):
    first = await gb_case(dash, settings)
    second = await gb_case(dash, settings, url="https://www.ebay.co.uk/itm/9876543210")
    gb = await browser("officer", "GB")
    await gb.post(f"/app/cases/{first}/comments", {"body": "said on the first case"})

    async def merge(session: Any) -> None:
        await merge_cases(session, await session.get(Case, first), await session.get(Case, second))

    await in_db(settings, merge)
    response, html = await gb.post(f"/app/cases/{first}/comments", {"body": "again"})
    assert response.status == 409 and f"case {second}" in html
    response, html = await gb.get(f"/app/cases/{second}")
    assert "said on the first case" in html and f"written on case #{first}" in html
    assert len(await comment_rows(peek)) == 1


async def test_comments_are_never_edited_or_deleted(dash, settings, browser):
    case_id = await gb_case(dash, settings)
    gb = await browser("officer", "GB")
    await gb.post(f"/app/cases/{case_id}/comments", {"body": "kept"})

    async def ids(session: Any) -> list[int]:
        return list((await session.exec(select(CaseComment.id))).all())

    [cid] = await in_db(settings, ids)
    for method in ("put", "delete", "patch"):
        response = await getattr(gb.client, method)(
            f"/app/cases/{case_id}/comments/{cid}", headers={"Origin": gb.origin}
        )
        assert response.status in (404, 405)
