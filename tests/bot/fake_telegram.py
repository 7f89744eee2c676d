"""A fake Telegram Bot API on loopback, for running the real python-telegram-bot against.

It plays just enough of the Bot API (getMe, deleteWebhook, getUpdates long-polling,
sendMessage, editMessageText, editMessageReplyMarkup, answerCallbackQuery, sendChatAction,
getFile and the file download route, setWebhook); any other method is recorded and
answered `true`. In webhook mode the test posts updates itself (`text_update` builds one).
Negative chat ids are groups (a unit's chat, where the backend's delivery channel posts).
Tests inject updates as a user would cause them (`send_text`, `send_photo`, `press`,
`reply_in_group`…) and read what the bot sent (`outbox`, `wait_for_text`, `alerts`).
Real HTTP both ways, so PTB's request encoding, polling and file downloads are the real
ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

#: Long-poll wait cap: real Telegram holds getUpdates up to `timeout`; tests want speed.
POLL_CAP_SECONDS = 0.2
#: Parameters PTB sends as raw strings; every other parameter is JSON-encoded.
RAW_PARAMS = {
    "text", "caption", "callback_query_id", "file_id", "parse_mode", "action", "url",
    "secret_token",
}  # fmt: skip
TAG = re.compile(r"<[^>]+>")


@dataclass
class Sent:
    """One thing the bot did in a chat: a new message or an edit of one."""

    method: str
    chat_id: int
    message_id: int
    html: str  # as the bot sent it (Telegram HTML)
    text: str  # as the user sees it (tags removed)
    # (label, callback data), or (label, url) for a link button
    buttons: list[tuple[str, str]] = field(default_factory=list)


class FakeBotApi:
    """The server, its state, and the helpers tests use to play the user."""

    def __init__(self, token: str = "123456:TEST-TOKEN") -> None:
        self.token = token
        self.bot_user = {
            "id": 123456,
            "is_bot": True,
            "first_name": "wildflag",
            "username": "wildflag_test_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.outbox: list[Sent] = []
        self.messages: dict[int, dict[str, Any]] = {}  # the bot's messages, by id
        self.files: dict[str, bytes] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.root = ""
        #: The last setWebhook's `url`, `secret_token` and `allowed_updates`; None when unset.
        self.webhook: dict[str, Any] | None = None

    # --- server -------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post(r"/bot{token:[^/]+}/{method}", self._method)
        app.router.add_get(r"/file/bot{token:[^/]+}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.root = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        params: dict[str, Any] = {}
        for key, value in (await request.post()).items():
            if not isinstance(value, str) or key in RAW_PARAMS:
                params[key] = value
                continue
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        return params

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params = await self._params(request)
        if method != "getUpdates":
            self.calls.append((method, params))
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return self._ok(True)
        result = await handler(params)
        if isinstance(result, web.Response):
            return result
        return self._ok(result)

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["path"].split("/")[-1].rsplit(".", 1)[0]
        if request.match_info["token"] != self.token or file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id], content_type="application/octet-stream")

    # --- Bot API methods ----------------------------------------------------------------

    async def _api_getMe(self, params: dict[str, Any]) -> Any:
        return self.bot_user

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates:
            self._arrived.clear()
            wait = min(float(params.get("timeout") or 0), POLL_CAP_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), wait)
        return self._updates[: int(params.get("limit") or 100)]

    async def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = {
            "url": params["url"],
            "secret_token": params.get("secret_token"),
            "allowed_updates": params.get("allowed_updates"),
        }
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        return True

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = int(params["chat_id"])
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": self.bot_user,
        }
        self.messages[message["message_id"]] = message
        self._set_text(message, params)
        self._record("sendMessage", message)
        return message

    async def _api_editMessageText(self, params: dict[str, Any]) -> Any:
        message = self.messages[int(params["message_id"])]
        message.pop("reply_markup", None)
        self._set_text(message, params)
        self._record("editMessageText", message)
        return message

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        message = self.messages[int(params["message_id"])]
        message.pop("reply_markup", None)
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self._record("editMessageReplyMarkup", message)
        return message

    async def _api_getFile(self, params: dict[str, Any]) -> Any:
        file_id = params["file_id"]
        if file_id not in self.files:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"},
                status=400,
            )
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": f"photos/{file_id}.jpg",
        }

    def _set_text(self, message: dict[str, Any], params: dict[str, Any]) -> None:
        raw = str(params.get("text", ""))
        plain = html.unescape(TAG.sub("", raw)) if params.get("parse_mode") == "HTML" else raw
        message["text"] = plain
        message["_html"] = raw
        # A message carries only an inline keyboard, as on Telegram (not a ForceReply).
        if (
            isinstance(params.get("reply_markup"), dict)
            and "inline_keyboard" in (params["reply_markup"])
        ):
            message["reply_markup"] = params["reply_markup"]

    def _record(self, method: str, message: dict[str, Any]) -> None:
        buttons = [
            (button["text"], button.get("callback_data") or button.get("url", ""))
            for row in message.get("reply_markup", {}).get("inline_keyboard", [])
            for button in row
        ]
        self.outbox.append(
            Sent(
                method,
                message["chat"]["id"],
                message["message_id"],
                message["_html"],
                message["text"],
                buttons,
            )
        )

    # --- playing the user ---------------------------------------------------------------

    @staticmethod
    def user(user_id: int, lang: str = "en") -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": "Tester", "language_code": lang}

    @staticmethod
    def chat(chat_id: int) -> dict[str, Any]:
        if chat_id < 0:
            return {"id": chat_id, "type": "supergroup", "title": "Unit chat"}
        return {"id": chat_id, "type": "private", "first_name": "Tester"}

    def _push(self, update: dict[str, Any]) -> None:
        update["update_id"] = next(self._update_ids)
        self._updates.append(update)
        self._arrived.set()

    def _message(self, user_id: int, lang: str, **content: Any) -> dict[str, Any]:
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Tester"},
            "from": self.user(user_id, lang),
            **content,
        }
        self._push({"message": message})
        return message

    def send_text(self, user_id: int, text: str, lang: str = "en") -> None:
        self._push(self.text_update(user_id, text, lang))

    def text_update(self, user_id: int, text: str, lang: str = "en") -> dict[str, Any]:
        """A private text message as a Telegram update, not queued: for webhook tests."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Tester"},
            "from": self.user(user_id, lang),
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        return {"update_id": next(self._update_ids), "message": message}

    def add_file(self, data: bytes) -> str:
        file_id = f"file{next(self._file_ids)}"
        self.files[file_id] = data
        return file_id

    def send_photo(
        self, user_id: int, data: bytes, *, size: int | None = None, caption: str | None = None
    ) -> None:
        """A photo as Telegram delivers it: several sizes, the largest last."""
        file_id = self.add_file(data)
        thumb_id = self.add_file(data[:100])
        content: dict[str, Any] = {
            "photo": [
                {
                    "file_id": thumb_id,
                    "file_unique_id": f"u-{thumb_id}",
                    "width": 90,
                    "height": 67,
                    "file_size": 100,
                },
                {
                    "file_id": file_id,
                    "file_unique_id": f"u-{file_id}",
                    "width": 640,
                    "height": 480,
                    "file_size": size if size is not None else len(data),
                },
            ]
        }
        if caption:
            content["caption"] = caption
        self._message(user_id, "en", **content)

    def send_document(
        self, user_id: int, data: bytes, file_name: str, mime_type: str, size: int | None = None
    ) -> None:
        file_id = self.add_file(data)
        document = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": size if size is not None else len(data),
        }
        self._message(user_id, "en", document=document)

    def forward_from_channel(
        self, user_id: int, text: str, *, username: str, title: str, post_id: int
    ) -> None:
        origin = {
            "type": "channel",
            "date": int(time.time()) - 3600,
            "chat": {"id": -1001234567890, "type": "channel", "title": title, "username": username},
            "message_id": post_id,
        }
        self._message(user_id, "en", text=text, forward_origin=origin)

    def reply_in_group(self, chat_id: int, user_id: int, text: str, to: Sent) -> None:
        """A user's text message in a group, replying to the bot's message `to`."""
        replied = {k: v for k, v in self.messages[to.message_id].items() if k != "_html"}
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": self.user(user_id),
            "text": text,
            "reply_to_message": replied,
        }
        self._push({"message": message})

    def send_group_command(self, chat_id: int, user_id: int, text: str) -> None:
        """A command typed in a group (e.g. /link CODE where it should not be)."""
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": self.user(user_id),
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        }
        self._push({"message": message})

    def alerts(self) -> list[dict[str, Any]]:
        """Every answerCallbackQuery the bot made: `text`, `show_alert`…"""
        return [params for method, params in self.calls if method == "answerCallbackQuery"]

    async def wait_for_markup(self, chat_id: int, since: int, within: float = 15.0) -> Sent:
        """The first change of buttons alone (editMessageReplyMarkup) after `since`."""
        deadline = time.monotonic() + within
        while True:
            for sent in self.outbox[since:]:
                if sent.chat_id == chat_id and sent.method == "editMessageReplyMarkup":
                    return sent
            if time.monotonic() > deadline:
                raise AssertionError(f"the bot changed no buttons in chat {chat_id}")
            await asyncio.sleep(0.02)

    async def wait_for_answer(self, since: int, within: float = 15.0) -> dict[str, Any]:
        """The first answerCallbackQuery after call number `since` (see `len(calls)`)."""
        deadline = time.monotonic() + within
        while True:
            for method, params in self.calls[since:]:
                if method == "answerCallbackQuery":
                    return params
            if time.monotonic() > deadline:
                raise AssertionError("the bot did not answer the button press")
            await asyncio.sleep(0.02)

    def press(self, user_id: int, sent: Sent, label: str) -> None:
        """Press the inline button whose label is `label` under the bot's message `sent`."""
        data = dict(sent.buttons)[label]
        message = {k: v for k, v in self.messages[sent.message_id].items() if k != "_html"}
        self._push(
            {
                "callback_query": {
                    "id": str(next(self._update_ids)),
                    "from": self.user(user_id),
                    "chat_instance": "instance",
                    "data": data,
                    "message": message,
                }
            }
        )

    # --- reading what the bot did -------------------------------------------------------

    def mark(self) -> int:
        """A position in the outbox: `wait_for_text(since=…)` looks only after it."""
        return len(self.outbox)

    def texts(self, chat_id: int, since: int = 0) -> list[str]:
        return [s.text for s in self.outbox[since:] if s.chat_id == chat_id]

    async def wait_for_text(
        self, chat_id: int, needle: str, *, since: int = 0, within: float = 15.0
    ) -> Sent:
        """The first message (or edit) after `since` in the chat containing `needle`."""
        deadline = time.monotonic() + within
        while True:
            for sent in self.outbox[since:]:
                if sent.chat_id == chat_id and needle in sent.text:
                    return sent
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no message containing {needle!r} in chat {chat_id}; the bot said: "
                    + json.dumps(self.texts(chat_id, since), ensure_ascii=False, indent=1)
                )
            await asyncio.sleep(0.02)
