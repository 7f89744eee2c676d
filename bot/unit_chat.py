"""The buttons under a case in a unit's Telegram chat, and what pressing them does.

The backend's Telegram channel posts each case with `wf:<action>:<case id>` buttons
(`extension_backend.delivery.channels.case_keyboard`; that data is the contract):

```
 ack  Acknowledge  ──▶ POST /cases/{id}/acknowledge ─┐
 asg  Assign to me ──▶ POST /cases/{id}/assign       ├─▶ the message is edited: the case's
 fp   Not wildlife ──▶ POST /cases/{id}/status       │   state ("Acknowledged by X at 14:02")
                        {closed, false_positive}      │   and the buttons that still apply
 rr   Reroute…     ──▶ GET /cases/{id}: its candidate units
                        ├─ to:<id>:<unit>  ──▶ POST /cases/{id}/reroute ─┘
                        ├─ ask:<id> "Other unit…" ──▶ "reply with the unit code" (ForceReply)
                        │                             └─ the presser's reply ──▶ reroute
                        └─ back:<id> ──▶ the first buttons again
```

Every call goes with the bot's token and `X-Telegram-User: <presser>`, so the backend
acts with the presser's own rights: an unlinked user, an observer or an officer of another
unit is refused there, and the refusal is shown to the presser alone (an alert) while the
message and the case stay as they were. The bot decides nothing about rights itself.
"""

from __future__ import annotations

import contextlib
import html
import logging
from datetime import datetime
from typing import Any

from telegram import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot import messages
from bot.api import ApiRejected, BackendUnavailable, WildflagApi
from bot.i18n import t

log = logging.getLogger(__name__)

PREFIX = "wf"
#: The first buttons, exactly as the backend's channel draws them (labels stay English:
#: a unit's chat is shared by officers who each chose their own language).
CASE_BUTTONS = (
    (("Acknowledge", "ack"), ("Assign to me", "asg")),
    (("Reroute…", "rr"), ("Not wildlife", "fp")),
)
#: Between the delivered notification and the state the bot writes under it.
RULE = "──────────"
#: Telegram's limits: a message's text, an alert's text.
MESSAGE_CHARS = 4096
ALERT_CHARS = 200
#: Candidate units shown per row of the reroute keyboard.
UNITS_PER_ROW = 3
REROUTE_REASON = "rerouted from a unit's Telegram chat"
#: chat_data key: the "reply with the unit code" prompts waiting for an answer.
PROMPTS = "reroute_prompts"


def parse(data: str) -> tuple[str, int, str | None] | None:
    """`wf:<action>:<case id>[:<unit>]` → (action, case id, unit); None when malformed."""
    parts = data.split(":")
    if len(parts) not in (3, 4) or parts[0] != PREFIX or not parts[2].isdigit():
        return None
    return parts[1], int(parts[2]), parts[3] if len(parts) == 4 else None


def open_url(markup: InlineKeyboardMarkup | None) -> str | None:
    """The "Open case" link the delivery had, kept when the buttons are redrawn."""
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            if button.url:
                return button.url
    return None


def case_keyboard(case_id: int, url: str | None, *, closed: bool) -> InlineKeyboardMarkup | None:
    """The buttons that still apply: none of the actions once the case is closed."""
    rows: list[list[InlineKeyboardButton]] = []
    if not closed:
        rows = [
            [
                InlineKeyboardButton(label, callback_data=f"{PREFIX}:{action}:{case_id}")
                for label, action in row
            ]
            for row in CASE_BUTTONS
        ]
    if url:
        rows.append([InlineKeyboardButton("Open case", url=url)])
    return InlineKeyboardMarkup(rows) if rows else None


def reroute_keyboard(case_id: int, units: list[str], lang: str) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(u, callback_data=f"{PREFIX}:to:{case_id}:{u}") for u in units]
    rows = [buttons[i : i + UNITS_PER_ROW] for i in range(0, len(buttons), UNITS_PER_ROW)]
    rows.append(
        [
            InlineKeyboardButton(
                t(lang, "button_other_unit"), callback_data=f"{PREFIX}:ask:{case_id}"
            ),
            InlineKeyboardButton(t(lang, "button_back"), callback_data=f"{PREFIX}:back:{case_id}"),
        ]
    )
    return InlineKeyboardMarkup(rows)


def _time(value: str | None) -> str:
    if not value:
        return "?"
    return datetime.fromisoformat(value).strftime("%H:%M UTC")


def _name(person: dict[str, Any] | None) -> str:
    if not person:
        return "?"
    return str(person.get("name") or f"account {person.get('id')}")


def state_lines(case: dict[str, Any], lang: str) -> list[str]:
    """The case's working state, as the backend returned it, one line per step."""
    lines = []
    if case.get("acknowledged_at"):
        lines.append(
            t(
                lang,
                "case_acknowledged",
                name=_name(case.get("acknowledged_by")),
                time=_time(case["acknowledged_at"]),
            )
        )
    if case.get("assigned_to"):
        lines.append(
            t(
                lang,
                "case_assigned",
                name=_name(case["assigned_to"]),
                time=_time(case.get("assigned_at")),
            )
        )
    if case.get("status") == "closed":
        outcome = str(case.get("outcome"))
        lines.append(
            t(
                lang,
                "case_closed",
                outcome=t(lang, f"outcome_{outcome}"),
                name=_name(case.get("closed_by")),
                time=_time(case.get("closed_at")),
            )
        )
    lines.append(t(lang, "case_units", units=", ".join(case.get("units") or [])))
    return lines


def render(notification: str, case: dict[str, Any], lang: str) -> str:
    """The delivered text (escaped: it was sent as plain text) with the state under it."""
    original = notification.split("\n\n" + RULE + "\n", 1)[0]
    state = "\n".join(state_lines(case, lang))
    room = MESSAGE_CHARS - len(state) - len(RULE) - 4
    return html.escape(original[:room], quote=False) + "\n\n" + RULE + "\n" + state


class UnitChat:
    """Answers the case buttons and the "reply with a unit code" prompts."""

    def __init__(self, api: WildflagApi) -> None:
        self.api = api

    _lang = staticmethod(messages.user_language)

    @staticmethod
    def refusal(lang: str, case_id: int, exc: ApiRejected) -> str:
        if exc.status == 404:
            return t(lang, "case_not_yours", case=case_id)
        return t(lang, "action_refused", message=exc.message)

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.data is not None
        lang = self._lang(update, context)
        parsed = parse(query.data)
        if parsed is None:
            await query.answer(t(lang, "stale_button"))
            return
        action, case_id, unit = parsed
        message = query.message if isinstance(query.message, Message) else None
        if action == "back":
            await query.answer()
            url = open_url(message.reply_markup) if message else None
            await self._markup(query, case_keyboard(case_id, url, closed=False))
            return
        if not self.api.acts_for_users:
            await query.answer(t(lang, "actions_unavailable")[:ALERT_CHARS], show_alert=True)
            return
        presser = query.from_user.id
        try:
            if action == "rr":
                case = await self.api.get_case(case_id, presser)
                await query.answer(t(lang, "toast_choose_unit"))
                keyboard = reroute_keyboard(case_id, list(case.get("reroute_candidates", [])), lang)
                await self._markup(query, keyboard)
                return
            if action == "ask":
                await self.api.get_case(case_id, presser)  # refuses early who may not reroute
                await query.answer()
                await self._ask_unit(query, context, case_id, lang)
                return
            case, toast = await self._act(action, case_id, unit, presser, lang)
        except ApiRejected as exc:
            await query.answer(self.refusal(lang, case_id, exc)[:ALERT_CHARS], show_alert=True)
            return
        except BackendUnavailable:
            await query.answer(t(lang, "action_unavailable")[:ALERT_CHARS], show_alert=True)
            return
        await query.answer(toast[:ALERT_CHARS])
        if message is not None:
            await self._redraw(message, case, lang, open_url(message.reply_markup))

    async def _act(
        self, action: str, case_id: int, unit: str | None, presser: int, lang: str
    ) -> tuple[dict[str, Any], str]:
        """One change through the API: the case as it is now, and the presser's toast."""
        if action == "ack":
            return await self.api.acknowledge(case_id, presser), t(lang, "toast_acknowledged")
        if action == "asg":
            return await self.api.assign_to_self(case_id, presser), t(lang, "toast_assigned")
        if action == "fp":
            case = await self.api.close_case(case_id, "false_positive", presser)
            return case, t(lang, "toast_closed")
        if action == "to" and unit:
            case = await self.api.reroute(case_id, unit, REROUTE_REASON, presser)
            return case, t(lang, "toast_rerouted", unit=unit)
        raise ApiRejected(400, "unknown_action", f"unknown button {action!r}")

    @staticmethod
    async def _markup(query: CallbackQuery, markup: InlineKeyboardMarkup | None) -> None:
        with contextlib.suppress(BadRequest):  # "message is not modified": nothing to do
            await query.edit_message_reply_markup(markup)

    @staticmethod
    async def _redraw(message: Message, case: dict[str, Any], lang: str, url: str | None) -> None:
        closed = case.get("status") == "closed"
        try:
            await message.edit_text(
                render(message.text or "", case, lang),
                parse_mode=ParseMode.HTML,
                reply_markup=case_keyboard(int(case["id"]), url, closed=closed),
            )
        except BadRequest as exc:
            log.warning("could not edit case message %s: %s", message.message_id, exc)

    async def _ask_unit(
        self, query: CallbackQuery, context: ContextTypes.DEFAULT_TYPE, case_id: int, lang: str
    ) -> None:
        """Ask the presser to answer with a unit code; the answer is `unit_code_reply`."""
        message = query.message
        assert isinstance(message, Message) and context.chat_data is not None
        prompt = await message.reply_text(
            t(lang, "ask_unit_code", name=query.from_user.full_name, case=case_id),
            reply_markup=ForceReply(selective=False),
        )
        context.chat_data.setdefault(PROMPTS, {})[prompt.message_id] = {
            "case": case_id,
            "user": query.from_user.id,
            "case_message": message.message_id,
            "case_text": message.text or "",
            "url": open_url(message.reply_markup),
        }

    async def unit_code_reply(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A reply in a group: when it answers one of our prompts, reroute to that unit."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or message.reply_to_message is None:
            return
        prompts: dict[int, dict[str, Any]] = (context.chat_data or {}).get(PROMPTS, {})
        prompt = prompts.get(message.reply_to_message.message_id)
        if prompt is None or prompt["user"] != user.id:
            return  # not an answer to us, or someone else answering another's prompt
        lang = self._lang(update, context)
        unit = (message.text or "").strip().split()[0].upper() if message.text else ""
        case_id = int(prompt["case"])
        try:
            case = await self.api.reroute(case_id, unit, REROUTE_REASON, user.id)
        except ApiRejected as exc:
            await message.reply_text(self.refusal(lang, case_id, exc))
            return  # the prompt stays: the officer may answer again with a right code
        except BackendUnavailable:
            await message.reply_text(t(lang, "action_unavailable"))
            return
        prompts.pop(message.reply_to_message.message_id, None)
        await message.reply_text(t(lang, "rerouted", case=case_id, unit=unit, name=user.full_name))
        try:
            await context.bot.edit_message_text(
                render(prompt["case_text"], case, lang),
                chat_id=message.chat.id,
                message_id=prompt["case_message"],
                parse_mode=ParseMode.HTML,
                reply_markup=case_keyboard(
                    case_id, prompt["url"], closed=case["status"] == "closed"
                ),
            )
        except BadRequest as exc:
            log.warning("could not edit case message %s: %s", prompt["case_message"], exc)
