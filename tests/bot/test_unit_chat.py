"""A unit's Telegram chat: the backend posts each case with buttons; officers act from there.

Real parts all the way: the backend's delivery worker posts to the fake Bot API, the real
python-telegram-bot answers the presses, and every change goes through the backend's API
with the presser's rights (the bot's token plus X-Telegram-User).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bot.app import AnyApplication
from bot.config import BotConfig
from db.engine import create_engine, session_factory
from db.models import AuditEvent, Case, Delivery, TelegramLinkCode
from db.types import utcnow
from extension_backend.settings import Settings
from tests.backend.conftest import set_channels
from tests.bot.conftest import (
    Backend,
    Officer,
    api_call,
    link,
    link_code,
    make_account,
    running_bot,
)
from tests.bot.fake_telegram import FakeBotApi, Sent
from tests.helpers import IVORY

GB_CHAT = -1001000000044
FR_CHAT = -1001000000033
ALICE, BOB, CAROL = 2001, 2002, 2003  # a GB officer, someone unlinked, an FR officer


@pytest.fixture
def backend_settings(tmp_path: Path, telegram: FakeBotApi) -> Settings:
    """The backend with its delivery worker on, posting to the fake Bot API."""
    return Settings(
        data_dir=tmp_path / "backend",
        public_url="http://wildflag.test",
        anonymous_reports_per_minute=1000,
        delivery_worker=True,
        delivery_poll_seconds=0.05,
        telegram_token=telegram.token,
        telegram_api_url=telegram.root,
    )


class Unit:
    """The cast: accounts, the bot with its token, and helpers to play them."""

    def __init__(self, backend: Backend, telegram: FakeBotApi) -> None:
        self.backend = backend
        self.telegram = telegram

    async def setup(self) -> None:
        settings = self.backend.settings
        self.bot_account = await make_account(settings, "bot", None, "telegram")
        self.admin = await make_account(settings, "unit_admin", "GB", "GB admin")
        self.alice = await make_account(settings, "officer", "GB", "Officer Alice")
        self.fr_admin = await make_account(settings, "unit_admin", "FR", "FR admin")
        self.carol = await make_account(settings, "officer", "FR", "Officer Carol")
        await set_channels(settings, "GB", [{"type": "telegram", "target": str(GB_CHAT)}])

    async def link(self, user: int, officer: Officer, admin: Officer) -> None:
        answer = await link(self.telegram, user, await link_code(self.backend, admin, officer))
        assert f"you act as {officer.name}" in answer, answer

    async def case_message(self, chat: int = GB_CHAT) -> tuple[int, Sent]:
        """Report the ivory listing; the case id and its message in the unit's chat."""
        status, receipt = await api_call(
            self.backend, "POST", "/api/v1/reports", self.admin.token, json=IVORY
        )
        assert status == 201, receipt
        sent = await self.telegram.wait_for_text(chat, f"wildflag case {receipt['case_id']}")
        return receipt["case_id"], sent

    async def case(self, case_id: int) -> Case:
        [case] = await self.backend.peek.rows(Case, Case.id == case_id)
        return case

    async def press(self, user: int, sent: Sent, label: str) -> tuple[dict[str, Any], int]:
        """Press a button; the bot's answer to the press, and the outbox mark before it."""
        mark, calls = self.telegram.mark(), len(self.telegram.calls)
        self.telegram.press(user, sent, label)
        return await self.telegram.wait_for_answer(calls), mark


@pytest.fixture
async def unit(
    telegram: FakeBotApi, backend: Backend, bot_config: Callable[..., BotConfig]
) -> AsyncIterator[Unit]:
    cast = Unit(backend, telegram)
    await cast.setup()
    config = bot_config(backend.url, backend_token=cast.bot_account.token)
    async with running_bot(config) as application:
        cast.application: AnyApplication = application  # type: ignore[misc]
        yield cast


async def test_a_delivered_case_has_the_buttons_and_acknowledge_changes_the_case(
    unit: Unit, telegram: FakeBotApi
) -> None:
    case_id, sent = await unit.case_message()
    assert sent.buttons == [
        ("Acknowledge", f"wf:ack:{case_id}"),
        ("Assign to me", f"wf:asg:{case_id}"),
        ("Reroute…", f"wf:rr:{case_id}"),
        ("Not wildlife", f"wf:fp:{case_id}"),
        ("Open case", f"http://wildflag.test/api/v1/cases/{case_id}"),
    ]
    await unit.link(ALICE, unit.alice, unit.admin)

    answer, mark = await unit.press(ALICE, sent, "Acknowledge")
    assert answer["text"] == "Acknowledged." and not answer.get("show_alert")
    edited = await telegram.wait_for_text(GB_CHAT, "Acknowledged by Officer Alice at", since=mark)
    assert edited.method == "editMessageText" and edited.message_id == sent.message_id
    assert edited.text.startswith(f"wildflag case {case_id}: critical priority")  # kept
    assert "Units: GB" in edited.text
    assert [label for label, _ in edited.buttons][:2] == ["Acknowledge", "Assign to me"]

    case = await unit.case(case_id)
    assert (case.status, case.acknowledged_by_id) == ("triaged", unit.alice.id)
    assert case.acknowledged_at is not None
    [event] = await unit.backend.peek.rows(AuditEvent, AuditEvent.action == "case.acknowledged")
    assert event.actor == f"account:{unit.alice.id}" and event.details["via"] == "telegram"

    # A second press (someone was first) is refused and changes nothing.
    again, mark = await unit.press(ALICE, edited, "Acknowledge")
    assert again["show_alert"] is True and "already acknowledged" in again["text"]
    assert telegram.texts(GB_CHAT, since=mark) == []


async def test_an_unlinked_users_press_is_refused_and_told_why(
    unit: Unit, telegram: FakeBotApi
) -> None:
    case_id, sent = await unit.case_message()
    answer, mark = await unit.press(BOB, sent, "Acknowledge")
    assert answer["show_alert"] is True
    assert "/link CODE first" in answer["text"]
    assert telegram.texts(GB_CHAT, since=mark) == []  # the message is untouched
    assert (await unit.case(case_id)).status == "new"
    assert await unit.backend.peek.rows(AuditEvent, AuditEvent.action == "case.acknowledged") == []


async def test_an_officer_of_another_unit_is_refused(unit: Unit, telegram: FakeBotApi) -> None:
    case_id, sent = await unit.case_message()
    await unit.link(CAROL, unit.carol, unit.fr_admin)
    answer, mark = await unit.press(CAROL, sent, "Assign to me")
    assert answer["show_alert"] is True
    assert answer["text"] == f"Refused: case {case_id} is not with your unit."
    assert telegram.texts(GB_CHAT, since=mark) == []
    case = await unit.case(case_id)
    assert (case.status, case.assigned_account_id) == ("new", None)


async def test_assign_to_me_then_not_wildlife_closes_as_false_positive(
    unit: Unit, telegram: FakeBotApi
) -> None:
    case_id, sent = await unit.case_message()
    await unit.link(ALICE, unit.alice, unit.admin)

    answer, mark = await unit.press(ALICE, sent, "Assign to me")
    assert answer["text"] == "Assigned to you."
    edited = await telegram.wait_for_text(GB_CHAT, "Assigned to Officer Alice at", since=mark)
    assert "Acknowledged by Officer Alice" in edited.text  # assigning acknowledges
    case = await unit.case(case_id)
    assert (case.status, case.assigned_account_id) == ("triaged", unit.alice.id)

    answer, mark = await unit.press(ALICE, edited, "Not wildlife")
    closed = await telegram.wait_for_text(
        GB_CHAT, "Closed as not wildlife (false positive) by Officer Alice", since=mark
    )
    assert closed.buttons == [("Open case", f"http://wildflag.test/api/v1/cases/{case_id}")]
    case = await unit.case(case_id)
    assert (case.status, case.outcome, case.closed_by_id) == (
        "closed",
        "false_positive",
        unit.alice.id,
    )
    [event] = await unit.backend.peek.rows(AuditEvent, AuditEvent.action == "case.closed")
    assert event.details["outcome"] == "false_positive"


async def test_reroute_by_button_and_by_replying_with_a_unit_code(
    unit: Unit, telegram: FakeBotApi
) -> None:
    await set_channels(unit.backend.settings, "FR", [{"type": "telegram", "target": str(FR_CHAT)}])
    case_id, sent = await unit.case_message()
    await unit.link(ALICE, unit.alice, unit.admin)

    # Reroute… swaps in a second keyboard: the case's candidate units, then the others.
    answer, mark = await unit.press(ALICE, sent, "Reroute…")
    assert "Choose a unit" in answer["text"]
    choose = await telegram.wait_for_markup(GB_CHAT, since=mark)
    labels = [label for label, _ in choose.buttons]
    assert "COORD" in labels and labels[-2:] == ["Other unit…", "Back"]
    assert "GB" not in labels  # it already has the case

    answer, mark = await unit.press(ALICE, choose, "COORD")
    assert answer["text"] == "Sent to COORD as well."
    edited = await telegram.wait_for_text(GB_CHAT, "Units: COORD, GB", since=mark)
    [event] = await unit.backend.peek.rows(AuditEvent, AuditEvent.action == "case.rerouted")
    assert event.details["unit"] == "COORD" and event.details["via"] == "telegram"
    assert event.actor == f"account:{unit.alice.id}"

    # Other unit…: the bot asks for a code; Alice's reply reroutes and FR's chat gets it.
    answer, mark = await unit.press(ALICE, edited, "Reroute…")
    choose = await telegram.wait_for_markup(GB_CHAT, since=mark)
    answer, mark = await unit.press(ALICE, choose, "Other unit…")
    prompt = await telegram.wait_for_text(
        GB_CHAT, "reply to this message with the code", since=mark
    )
    mark = telegram.mark()
    telegram.reply_in_group(GB_CHAT, ALICE, "fr", prompt)
    await telegram.wait_for_text(GB_CHAT, f"Case {case_id} sent to FR as well", since=mark)
    await telegram.wait_for_text(GB_CHAT, "Units: COORD, FR, GB", since=mark)
    to_fr = await telegram.wait_for_text(FR_CHAT, f"wildflag case {case_id}", since=mark)
    assert ("Acknowledge", f"wf:ack:{case_id}") in to_fr.buttons  # a new delivery, with buttons
    rows = await unit.backend.peek.rows(Delivery, Delivery.unit_code == "FR")
    assert {(d.channel, d.state) for d in rows} == {("dashboard", "sent"), ("telegram", "sent")}


async def test_a_link_code_works_once_only_in_private_and_not_after_it_expires(
    unit: Unit, telegram: FakeBotApi
) -> None:
    # A code posted in a group is voided: everyone there saw it.
    seen = await link_code(unit.backend, unit.admin, unit.alice)
    mark = telegram.mark()
    telegram.send_group_command(GB_CHAT, ALICE, f"/link {seen}")
    await telegram.wait_for_text(GB_CHAT, "so it no longer works", since=mark)
    assert (await link(telegram, BOB, seen)).startswith("Not linked:")

    code = await link_code(unit.backend, unit.admin, unit.alice)
    assert "you act as Officer Alice" in await link(telegram, ALICE, code)
    assert unit.application.user_data[ALICE]["officer"]["id"] == unit.alice.id
    used_twice = await link(telegram, BOB, code)
    assert used_twice.startswith("Not linked: this code is unknown, used or expired")
    assert "officer" not in unit.application.user_data[BOB]

    expired = await link_code(unit.backend, unit.admin, unit.alice)
    await expire_codes(unit.backend)
    assert (await link(telegram, BOB, expired)).startswith("Not linked:")

    mark = telegram.mark()
    telegram.send_text(ALICE, "/unlink")
    await telegram.wait_for_text(ALICE, "Unlinked", since=mark)
    assert "officer" not in unit.application.user_data[ALICE]


async def expire_codes(backend: Backend) -> None:
    """Every link code issued so far is past its time."""
    engine = create_engine(backend.settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            await session.exec(
                update(TelegramLinkCode).values(expires_at=utcnow() - timedelta(seconds=1))
            )
            await session.commit()
    finally:
        await engine.dispose()
