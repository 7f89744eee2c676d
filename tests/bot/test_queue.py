"""A confirmed report is never lost: backend down at confirm → queued → sent when it is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from bot.config import BotConfig
from db.models import Evidence, Report
from tests.bot.conftest import Backend, running_bot
from tests.bot.fake_telegram import FakeBotApi
from tests.bot.test_conversation import ALICE, LISTING, TEXT
from tests.helpers import jpeg, photo


async def confirm_a_report(telegram: FakeBotApi, user: int) -> None:
    """Link, photo, text, Done, skip country and notes, Confirm: up to "Sending…"."""
    telegram.send_text(user, LISTING)
    await telegram.wait_for_text(user, "Link noted")
    mark = telegram.mark()
    telegram.send_photo(user, jpeg(photo(5)), caption=TEXT)
    await telegram.wait_for_text(user, "Photo 1", since=mark)
    mark = telegram.mark()
    telegram.send_text(user, "/done")
    country = await telegram.wait_for_text(user, "Which country", since=mark)
    mark = telegram.mark()
    telegram.press(user, country, "Skip")
    notes = await telegram.wait_for_text(user, "Anything the officers", since=mark)
    mark = telegram.mark()
    telegram.press(user, notes, "Skip")
    summary = await telegram.wait_for_text(user, "This is what will be sent", since=mark)
    assert "Country: not given" in summary.text
    telegram.press(user, summary, "Confirm and send")
    await telegram.wait_for_text(user, "Sending…", since=mark)


async def until(predicate: Callable[[], bool], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_backend_down_at_confirm_queues_then_delivers_once(
    telegram: FakeBotApi, stopped_backend: Backend, bot_config: Callable[..., BotConfig]
) -> None:
    backend = stopped_backend
    async with running_bot(bot_config(backend.url)) as application:
        mark = telegram.mark()
        await confirm_a_report(telegram, ALICE)
        queued = await telegram.wait_for_text(ALICE, "cannot be reached", since=mark)
        assert "will be sent automatically" in queued.text
        [entry] = application.bot_data["queue"].values()
        assert entry["fields"]["url"] == LISTING
        assert [p["file_id"] for p in entry["photos"]]  # file ids, never bytes
        assert all(
            isinstance(v, (str, int, type(None))) for p in entry["photos"] for v in p.values()
        )
        # Retries keep failing while the backend is down, and the report stays queued.
        await until(lambda: entry["attempts"] >= 2)
        assert application.bot_data["queue"]

        mark = telegram.mark()
        await backend.start()
        sent = await telegram.wait_for_text(ALICE, "went through", since=mark)
        assert "Report received" in sent.text
        await until(lambda: not application.bot_data["queue"])
        [report] = await backend.peek.rows(Report)
        assert report.reference in sent.text
        assert [r["reference"] for r in application.user_data[ALICE]["reports"]] == [
            report.reference
        ]
        assert len(await backend.peek.rows(Evidence)) == 1

        # /status works for a report that went through from the queue.
        mark = telegram.mark()
        telegram.send_text(ALICE, f"/status {report.reference}")
        await telegram.wait_for_text(ALICE, "routed", since=mark)
    assert await backend.peek.count(Report) == 1  # delivered once


async def test_the_queue_survives_a_restart_of_the_bot(
    telegram: FakeBotApi, stopped_backend: Backend, bot_config: Callable[..., BotConfig]
) -> None:
    backend = stopped_backend
    config = bot_config(backend.url, retry_base_seconds=0.1)
    async with running_bot(config):
        mark = telegram.mark()
        await confirm_a_report(telegram, ALICE)
        await telegram.wait_for_text(ALICE, "cannot be reached", since=mark)
        mark = telegram.mark()
        telegram.send_text(ALICE, "/mine")
        mine = await telegram.wait_for_text(ALICE, "Your reports", since=mark)
        assert "queued, 1" in mine.text
    # The state file holds the queue, and no photo.
    state_file = config.state_dir / "state.pickle"
    assert state_file.exists()
    assert b"\xff\xd8\xff" not in state_file.read_bytes()  # no JPEG in the state file

    await backend.start()
    async with running_bot(config) as application:
        await telegram.wait_for_text(ALICE, "went through", since=0)
        await until(lambda: not application.bot_data["queue"])
    assert await backend.peek.count(Report) == 1
