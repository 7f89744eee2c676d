"""The reporting conversation end to end: fake Telegram, real PTB, real backend."""

from __future__ import annotations

import json

from sqlmodel import col

from bot.api import WildflagApi
from bot.app import AnyApplication
from db.models import Evidence, Report
from tests.bot.conftest import Backend
from tests.bot.fake_telegram import FakeBotApi
from tests.helpers import jpeg, photo

ALICE = 1001
BOB = 1002
LISTING = "https://www.jiji.ng/lagos/animals/pangolin-scales-2kg-abc123.html"
TEXT = "Pangolin scales 2 kg, clean and dry, serious buyers only. Call 0803 000 0000."


async def finish_report(telegram: FakeBotApi, user: int, *, country: str = "Nigeria") -> str:
    """From a collected draft: Done → country → skip notes → Confirm; the receipt's text."""
    mark = telegram.mark()
    telegram.send_text(user, "/done")
    await telegram.wait_for_text(user, "Which country", since=mark)
    mark = telegram.mark()
    telegram.send_text(user, country)
    notes = await telegram.wait_for_text(user, "Anything the officers should know", since=mark)
    mark = telegram.mark()
    telegram.press(user, notes, "Skip")
    summary = await telegram.wait_for_text(user, "This is what will be sent", since=mark)
    mark = telegram.mark()
    telegram.press(user, summary, "Confirm and send")
    receipt = await telegram.wait_for_text(user, "Report received", since=mark)
    return receipt.text


async def test_scripted_report_reaches_the_backend_with_its_evidence(
    telegram: FakeBotApi, backend: Backend, bot: AnyApplication
) -> None:
    telegram.send_text(ALICE, LISTING)
    await telegram.wait_for_text(ALICE, "Link noted")
    mark = telegram.mark()
    telegram.send_photo(ALICE, jpeg(photo(1)))
    await telegram.wait_for_text(ALICE, "Photo 1", since=mark)
    mark = telegram.mark()
    telegram.send_document(ALICE, jpeg(photo(2)), "scales.jpg", "image/jpeg")
    await telegram.wait_for_text(ALICE, "Photo 2", since=mark)
    mark = telegram.mark()
    telegram.send_text(ALICE, TEXT)
    await telegram.wait_for_text(ALICE, "Text noted", since=mark)

    # The summary names exactly what leaves the chat, and to whom.
    mark = telegram.mark()
    telegram.send_text(ALICE, "/done")
    await telegram.wait_for_text(ALICE, "Which country", since=mark)
    telegram.send_text(ALICE, "Nigeria")
    notes = await telegram.wait_for_text(ALICE, "Anything the officers", since=mark)
    mark = telegram.mark()
    telegram.send_text(ALICE, "Seen on two other sites too")
    summary = await telegram.wait_for_text(ALICE, "This is what will be sent", since=mark)
    assert notes.buttons  # Skip / Cancel were offered
    for shown in (LISTING, "Photos: 2", "Nigeria (NG)", "Seen on two other sites", TEXT[:40]):
        assert shown in summary.text
    assert f"the wildflag service at {backend.url}" in summary.text
    assert "units of the country it concerns" in summary.text
    assert await backend.peek.count(Report) == 0  # nothing leaves before Confirm

    mark = telegram.mark()
    telegram.press(ALICE, summary, "Confirm and send")
    receipt = (await telegram.wait_for_text(ALICE, "Report received", since=mark)).text
    assert "Manidae" in receipt and "Appendix I" in receipt
    assert "Sent to units: NG" in receipt
    assert "Priority: critical" in receipt
    assert "http://wildflag.test/status/WF-" in receipt
    assert "already" not in receipt.lower()  # anonymous: no duplicate information

    # The backend holds the report, its two photos and no trace of the Telegram user.
    [report] = await backend.peek.rows(Report)
    assert report.reference in receipt
    assert report.channel == "bot" and report.account_id is None
    assert report.submitted["url"] == LISTING
    assert report.submitted["seller_location"] == "NG"
    assert report.submitted["notes"] == "Seen on two other sites too"
    assert TEXT in report.submitted["text"]
    sent = json.dumps(report.submitted)
    assert str(ALICE) not in sent and "Tester" not in sent
    evidence = await backend.peek.rows(Evidence, col(Evidence.report_id) == report.id)
    assert [e.kind for e in evidence] == ["image", "image"]

    # The bot kept the receipt token: the status comes from the backend's API.
    [kept] = bot.user_data[ALICE]["reports"]
    assert kept["reference"] == report.reference
    status = await _status(backend, kept)
    assert status["reference"] == report.reference and status["routed_to"] == ["NG"]


async def _status(backend: Backend, kept: dict) -> dict:
    api = WildflagApi(backend.url)
    try:
        return await api.report_status(kept["reference"], kept["receipt_token"])
    finally:
        await api.close()


async def test_a_photo_without_any_command_starts_a_report(
    telegram: FakeBotApi, backend: Backend, bot: AnyApplication
) -> None:
    telegram.send_photo(ALICE, jpeg(photo(3)), caption="Ivory bangle, old elephant tusk")
    added = await telegram.wait_for_text(ALICE, "Photo 1")
    assert "Text noted" in added.text
    assert [label for label, _ in added.buttons] == ["Done", "Cancel"]
    mark = telegram.mark()
    telegram.press(ALICE, added, "Done")
    await telegram.wait_for_text(ALICE, "Which country", since=mark)


async def test_a_forwarded_post_starts_a_report_with_its_link(
    telegram: FakeBotApi, backend: Backend, bot: AnyApplication
) -> None:
    telegram.forward_from_channel(
        ALICE,
        "Live African grey parrots for sale",
        username="birdmarket",
        title="Bird market",
        post_id=77,
    )
    added = await telegram.wait_for_text(ALICE, "Forwarded post noted")
    assert "Text noted" in added.text
    receipt = await finish_report(telegram, ALICE, country="KE")
    assert "Psittacus" in receipt
    [report] = await backend.peek.rows(Report)
    assert report.submitted["url"] == "https://t.me/birdmarket/77"
    assert "Bird market (@birdmarket)" in report.submitted["text"]


async def test_cancel_midway_sends_nothing(
    telegram: FakeBotApi, backend: Backend, bot: AnyApplication
) -> None:
    telegram.send_text(ALICE, LISTING)
    await telegram.wait_for_text(ALICE, "Link noted")
    mark = telegram.mark()
    telegram.send_text(ALICE, "/done")
    await telegram.wait_for_text(ALICE, "Which country", since=mark)
    mark = telegram.mark()
    telegram.send_text(ALICE, "/cancel")
    await telegram.wait_for_text(ALICE, "Cancelled. Nothing was sent.", since=mark)
    assert "draft" not in bot.user_data[ALICE]
    # The conversation is over: a country name now is just text, not an answer.
    mark = telegram.mark()
    telegram.send_text(ALICE, "France")
    await telegram.wait_for_text(ALICE, "To report a listing", since=mark)
    assert await backend.peek.count(Report) == 0


async def test_status_shows_own_reports_and_refuses_others(
    telegram: FakeBotApi, backend: Backend, bot: AnyApplication
) -> None:
    telegram.send_text(ALICE, TEXT)  # plain text without a link does not start a report
    await telegram.wait_for_text(ALICE, "To report a listing")
    telegram.send_text(ALICE, "/report")
    await telegram.wait_for_text(ALICE, "Send the listing")
    mark = telegram.mark()
    telegram.send_text(ALICE, TEXT)
    await telegram.wait_for_text(ALICE, "Text noted", since=mark)
    receipt = await finish_report(telegram, ALICE)
    [report] = await backend.peek.rows(Report)
    assert report.reference in receipt

    mark = telegram.mark()
    telegram.send_text(ALICE, f"/status {report.reference.lower()}")
    status = await telegram.wait_for_text(ALICE, report.reference, since=mark)
    assert "routed" in status.text and "NG" in status.text

    mark = telegram.mark()
    telegram.send_text(BOB, f"/status {report.reference}")
    refused = await telegram.wait_for_text(BOB, "is not one of your reports", since=mark)
    assert "Manidae" not in refused.text

    mark = telegram.mark()
    telegram.send_text(ALICE, "/mine")
    mine = await telegram.wait_for_text(ALICE, "Your reports", since=mark)
    assert report.reference in mine.text and "routed" in mine.text
    telegram.send_text(BOB, "/mine")
    await telegram.wait_for_text(BOB, "You have no reports yet", since=mark)


async def test_language_es_then_spanish_replies(
    telegram: FakeBotApi, backend: Backend, bot: AnyApplication
) -> None:
    telegram.send_text(ALICE, "/language es")
    await telegram.wait_for_text(ALICE, "Idioma: español.")
    mark = telegram.mark()
    telegram.send_text(ALICE, "/report")
    begin = await telegram.wait_for_text(ALICE, "Envíe el anuncio", since=mark)
    assert [label for label, _ in begin.buttons] == ["Listo", "Cancelar"]
    mark = telegram.mark()
    telegram.send_text(ALICE, "/cancel")
    await telegram.wait_for_text(ALICE, "Cancelado", since=mark)
    mark = telegram.mark()
    telegram.send_text(ALICE, "/help")
    await telegram.wait_for_text(ALICE, "empezar una denuncia", since=mark)
    # The language menu without an argument, and French by its button.
    mark = telegram.mark()
    telegram.send_text(ALICE, "/language")
    menu = await telegram.wait_for_text(ALICE, "Elija un idioma", since=mark)
    mark = telegram.mark()
    telegram.press(ALICE, menu, "Français")
    await telegram.wait_for_text(ALICE, "Langue : français.", since=mark)


async def test_start_explains_anonymity_and_commands_need_no_start(
    telegram: FakeBotApi, backend: Backend, bot: AnyApplication
) -> None:
    telegram.send_text(ALICE, "/help")  # no /start first
    await telegram.wait_for_text(ALICE, "/status REF")
    telegram.send_text(ALICE, "/start")
    start = await telegram.wait_for_text(ALICE, "Anonymity")
    assert "no name, no username, no id" in start.text
    assert backend.url in start.text


async def test_user_text_is_shown_as_written_never_as_markup(
    telegram: FakeBotApi, backend: Backend, bot: AnyApplication
) -> None:
    telegram.send_text(ALICE, "Tortoise <b>radiata</b> https://shop.example/i?id=1&ref=tg")
    added = await telegram.wait_for_text(ALICE, "Link noted: https://shop.example/i?id=1&ref=tg")
    assert "&amp;" not in added.text
    sends = [params for method, params in telegram.calls if method == "sendMessage"]
    assert all(params["parse_mode"] == "HTML" for params in sends)
    assert all(params["link_preview_options"]["is_disabled"] for params in sends)
    mark = telegram.mark()
    telegram.send_text(ALICE, "/done")
    await telegram.wait_for_text(ALICE, "Which country", since=mark)
    mark = telegram.mark()
    telegram.send_text(ALICE, "<i>Mordor</i>")
    await telegram.wait_for_text(ALICE, "I don't know the country “<i>Mordor</i>”", since=mark)
