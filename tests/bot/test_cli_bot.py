"""`wildflag bot` as an operator runs it: a real process, the fake Bot API, the real backend."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from db.models import Report
from tests.bot.conftest import Backend
from tests.bot.fake_telegram import FakeBotApi
from tests.helpers import WILDFLAG, jpeg, photo, wildflag_env

USER = 4242


async def test_wildflag_bot_polls_reports_and_stops_cleanly(
    tmp_path: Path, telegram: FakeBotApi, backend: Backend
) -> None:
    data_dir = tmp_path / "bot-data"
    env = wildflag_env(
        data_dir,
        WILDFLAG_TELEGRAM_TOKEN=telegram.token,
        WILDFLAG_TELEGRAM_API_URL=telegram.root,
        WILDFLAG_API_URL=backend.url,
    )
    log = tmp_path / "bot.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            WILDFLAG, "bot", env=env, stdout=output, stderr=output
        )
        try:
            telegram.send_text(USER, "/start")
            await telegram.wait_for_text(USER, "Anonymity", within=60)
            commands = [params for method, params in telegram.calls if method == "setMyCommands"]
            assert commands and commands[0]["commands"][0]["command"] == "report"

            mark = telegram.mark()
            telegram.send_photo(USER, jpeg(photo(11)), caption="Rhino horn, 1.2 kg, Hanoi")
            added = await telegram.wait_for_text(USER, "Photo 1", since=mark)
            telegram.press(USER, added, "Done")
            country = await telegram.wait_for_text(USER, "Which country", since=mark)
            telegram.press(USER, country, "Skip")
            notes = await telegram.wait_for_text(USER, "Anything the officers", since=mark)
            telegram.press(USER, notes, "Skip")
            summary = await telegram.wait_for_text(USER, "This is what will be sent", since=mark)
            telegram.press(USER, summary, "Confirm and send")
            receipt = await telegram.wait_for_text(USER, "Report received", since=mark)
            assert "Rhinocerotidae" in receipt.text
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
            code = await asyncio.wait_for(process.wait(), 30)
    output_text = log.read_text(errors="replace")
    assert code == 0, output_text
    assert telegram.token not in output_text  # httpx's request log would print it
    assert (data_dir / "bot" / "state.pickle").exists()
    [report] = await backend.peek.rows(Report)
    assert report.reference in receipt.text
