"""Every rejection gets a clear reply: too large, not an image, unknown command, rate limit."""

from __future__ import annotations

from collections.abc import Callable

from bot.app import AnyApplication
from bot.config import BotConfig
from db.models import Report
from tests.bot.conftest import Backend, running_bot
from tests.bot.fake_telegram import FakeBotApi
from tests.bot.test_conversation import ALICE, TEXT, finish_report
from tests.helpers import jpeg, photo

MiB = 1024 * 1024


async def test_an_oversized_photo_is_refused_and_starts_nothing(
    telegram: FakeBotApi, backend: Backend, bot: AnyApplication
) -> None:
    telegram.send_photo(ALICE, jpeg(photo(1)), size=20 * MiB)
    refused = await telegram.wait_for_text(ALICE, "limit is 15 MB")
    assert "20.0 MB" in refused.text
    assert "draft" not in bot.user_data.get(ALICE, {})
    assert not [m for m, _ in telegram.calls if m == "getFile"]  # never downloaded


async def test_a_non_image_document_is_refused_mid_report(
    telegram: FakeBotApi, backend: Backend, bot: AnyApplication
) -> None:
    telegram.send_photo(ALICE, jpeg(photo(1)))
    await telegram.wait_for_text(ALICE, "Photo 1")
    mark = telegram.mark()
    telegram.send_document(ALICE, b"%PDF-1.4 price list", "prices.pdf", "application/pdf")
    refused = await telegram.wait_for_text(ALICE, "I can only take images", since=mark)
    assert "prices.pdf" in refused.text and "application/pdf" in refused.text
    assert len(bot.user_data[ALICE]["draft"].photos) == 1  # the report goes on without it
    mark = telegram.mark()
    telegram.send_document(ALICE, jpeg(photo(2)), "big.jpg", "image/jpeg", size=16 * MiB)
    await telegram.wait_for_text(ALICE, "limit is 15 MB", since=mark)


async def test_an_unknown_command_gets_a_clear_reply(
    telegram: FakeBotApi, backend: Backend, bot: AnyApplication
) -> None:
    telegram.send_text(ALICE, "/frobnicate now")
    reply = await telegram.wait_for_text(ALICE, "Unknown command /frobnicate")
    assert "/help" in reply.text
    # Mid-report too, and the report carries on.
    telegram.send_text(ALICE, "/report")
    await telegram.wait_for_text(ALICE, "Send the listing")
    mark = telegram.mark()
    telegram.send_text(ALICE, "/frobnicate")
    await telegram.wait_for_text(ALICE, "Unknown command", since=mark)
    mark = telegram.mark()
    telegram.send_text(ALICE, "/done")
    await telegram.wait_for_text(ALICE, "Nothing to send yet", since=mark)


async def test_the_backend_refusal_is_shown_with_its_message(
    telegram: FakeBotApi, backend: Backend, bot: AnyApplication
) -> None:
    telegram.send_text(ALICE, "/report")
    await telegram.wait_for_text(ALICE, "Send the listing")
    mark = telegram.mark()
    telegram.send_text(ALICE, "x" * 20_001)  # over the backend's max_text_chars
    await telegram.wait_for_text(ALICE, "Text noted", since=mark)
    await finish_report_expecting(telegram, "The service refused this report")
    assert await backend.peek.count(Report) == 0


async def finish_report_expecting(telegram: FakeBotApi, needle: str) -> None:
    mark = telegram.mark()
    telegram.send_text(ALICE, "/done")
    country = await telegram.wait_for_text(ALICE, "Which country", since=mark)
    mark = telegram.mark()
    telegram.send_text(ALICE, "Atlantis")
    await telegram.wait_for_text(ALICE, "I don't know the country", since=mark)
    mark = telegram.mark()
    telegram.press(ALICE, country, "Skip")
    notes = await telegram.wait_for_text(ALICE, "Anything the officers", since=mark)
    mark = telegram.mark()
    telegram.press(ALICE, notes, "Skip")
    summary = await telegram.wait_for_text(ALICE, "This is what will be sent", since=mark)
    assert "Text (20001 characters)" in summary.text
    mark = telegram.mark()
    telegram.press(ALICE, summary, "Confirm and send")
    await telegram.wait_for_text(ALICE, needle, since=mark)


async def test_per_user_rate_limit(
    telegram: FakeBotApi, backend: Backend, bot_config: Callable[..., BotConfig]
) -> None:
    async with running_bot(bot_config(backend.url, reports_per_hour=1)):
        telegram.send_text(ALICE, "https://example.org/listing/1")
        await telegram.wait_for_text(ALICE, "Link noted")
        await finish_report(telegram, ALICE)
        mark = telegram.mark()
        telegram.send_photo(ALICE, jpeg(photo(9)))
        refused = await telegram.wait_for_text(ALICE, "the most allowed", since=mark)
        assert "1 reports in the last hour" in refused.text
        # Another user is not affected.
        telegram.send_text(ALICE + 1, TEXT + " https://example.org/listing/2")
        await telegram.wait_for_text(ALICE + 1, "Link noted", since=mark)
    assert await backend.peek.count(Report) == 1
