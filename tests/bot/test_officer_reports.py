"""Reports through a bot that has a backend token: linked officers report as themselves and
hear about duplicates; the public stays anonymous and is never told; and the backend's
per-address limit does not apply to the bot (it limits per user itself).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.app import AnyApplication
from bot.config import BotConfig
from db.models import AuditEvent, Report
from extension_backend.settings import Settings
from tests.bot.conftest import Backend, link, link_code, make_account, running_bot
from tests.bot.fake_telegram import FakeBotApi
from tests.bot.test_conversation import finish_report

OFFICER, PUBLIC = 3001, 3002
LISTING = "https://www.jiji.ng/lagos/animals/pangolin-scales-2kg-abc123.html"


@pytest.fixture
def backend_settings(tmp_path: Path) -> Settings:
    """One anonymous report per minute per address: the bot must not be held to it."""
    return Settings(
        data_dir=tmp_path / "backend",
        public_url="http://wildflag.test",
        anonymous_reports_per_minute=1,
        delivery_worker=False,
    )


@pytest.fixture
async def trusted_bot(
    backend: Backend, bot_config: Callable[..., BotConfig]
) -> AsyncIterator[AnyApplication]:
    token = (await make_account(backend.settings, "bot", None, "telegram")).token
    async with running_bot(bot_config(backend.url, backend_token=token)) as application:
        yield application


async def report_listing(telegram: FakeBotApi, user: int) -> str:
    mark = telegram.mark()
    telegram.send_text(user, LISTING)
    await telegram.wait_for_text(user, "Link noted", since=mark)
    return await finish_report(telegram, user)


async def test_a_linked_officer_hears_already_reported_and_the_public_never_does(
    telegram: FakeBotApi, backend: Backend, trusted_bot: AnyApplication
) -> None:
    settings = backend.settings
    admin = await make_account(settings, "unit_admin", "NG", "NG admin")
    officer = await make_account(settings, "officer", "NG", "Officer Ngozi")
    answer = await link(telegram, OFFICER, await link_code(backend, admin, officer))
    assert "you act as Officer Ngozi" in answer

    first = await report_listing(telegram, OFFICER)
    [report] = await backend.peek.rows(Report)
    assert f"New case {report.case_id}." in first and "Already" not in first
    assert report.account_id == officer.id  # the officer's identity and unit

    # The public, twice (the backend's one-per-minute address limit does not stop the bot):
    # anonymous, with a receipt token, and not a word about the listing being known.
    for _ in range(2):
        receipt = await report_listing(telegram, PUBLIC)
        assert "already" not in receipt.lower() and "case" not in receipt.lower()
    public = [r for r in await backend.peek.rows(Report) if r.account_id is None]
    assert len(public) == 2 and all(r.receipt_hash and r.duplicate for r in public)
    assert str(PUBLIC) not in json.dumps([r.submitted for r in public])
    anonymous = await backend.peek.rows(AuditEvent, AuditEvent.action == "report.received")
    assert sorted(e.actor for e in anonymous) == sorted(
        ["anonymous", "anonymous", f"account:{officer.id}"]
    )

    again = await report_listing(telegram, OFFICER)
    assert f"Already reported: case {report.case_id}, reported 4 times." in again

    # The officer's reports have no receipt token; /status opens them as the officer.
    [kept, *_] = trusted_bot.user_data[OFFICER]["reports"]
    mark = telegram.mark()
    telegram.send_text(OFFICER, f"/status {kept['reference']}")
    await telegram.wait_for_text(OFFICER, f"{kept['reference']}: routed", since=mark)


async def test_the_summary_says_an_officers_report_goes_as_their_account(
    telegram: FakeBotApi, backend: Backend, trusted_bot: AnyApplication
) -> None:
    admin = await make_account(backend.settings, "unit_admin", "NG", "NG admin")
    officer = await make_account(backend.settings, "officer", "NG", "Officer Ngozi")
    await link(telegram, OFFICER, await link_code(backend, admin, officer))
    telegram.send_text(OFFICER, LISTING)
    await telegram.wait_for_text(OFFICER, "Link noted")
    mark = telegram.mark()
    telegram.send_text(OFFICER, "/done")
    await telegram.wait_for_text(OFFICER, "Which country", since=mark)
    mark = telegram.mark()
    telegram.send_text(OFFICER, "NG")
    notes = await telegram.wait_for_text(OFFICER, "Anything the officers", since=mark)
    mark = telegram.mark()
    telegram.press(OFFICER, notes, "Skip")
    summary = await telegram.wait_for_text(OFFICER, "This is what will be sent", since=mark)
    assert "Sent as your linked account Officer Ngozi (unit NG)" in summary.text
    assert "Nothing about your Telegram account is sent" not in summary.text
