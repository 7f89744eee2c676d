"""Channels: how one outbox row reaches a unit. One small interface, a registry of them.

A channel only sends. It never touches the database and never retries: it raises
`DeliveryError` and the worker decides (retry with backoff, or dead). Adding a channel is a
subclass with a unique `name` and an `async send`, registered in `build_channels`.
"""

from __future__ import annotations

import abc
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiohttp
import aiosmtplib
from aiohttp.abc import AbstractResolver

from extension_backend.delivery.address_guard import (
    AddressRefused,
    IPNetwork,
    guarded_session,
    refused_cause,
)
from extension_backend.delivery.payload import (
    COMMENT,
    comment_html,
    comment_subject,
    comment_text,
    summary_text,
)
from extension_backend.delivery.signing import sign
from extension_backend.settings import Settings

#: Statuses a receiver answers when it may take the request later: retried, not dead.
RETRYABLE_CLIENT_STATUSES = frozenset({408, 425, 429})


class DeliveryError(Exception):
    """A send failed. `retryable=False` means trying again cannot help (dead at once)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class Target:
    """Where a channel sends: the unit's configured address, and its secret if any."""

    address: str
    secret: str = ""


class Channel(abc.ABC):
    """One way of reaching a unit."""

    name: str

    @abc.abstractmethod
    async def send(self, payload: Mapping[str, Any], target: Target, idempotency_key: str) -> None:
        """Deliver `payload` to `target`, or raise `DeliveryError`."""


class NoopChannel(Channel):
    """Always delivered, sends nothing: for demos and tests."""

    name = "noop"

    async def send(self, payload: Mapping[str, Any], target: Target, idempotency_key: str) -> None:
        return None


class DashboardChannel(Channel):
    """The unit dashboard reads the database: storing the row was the delivery."""

    name = "dashboard"

    async def send(self, payload: Mapping[str, Any], target: Target, idempotency_key: str) -> None:
        return None


def encode_body(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


class WebhookChannel(Channel):
    """A signed JSON POST to the unit's HTTPS endpoint.

    Headers: `X-Wildflag-Timestamp` (Unix seconds), `X-Wildflag-Signature`
    (`sha256=` HMAC over `"{timestamp}.{body}"`, see `signing`), `Idempotency-Key` (the same
    for every attempt of one delivery, so a receiver can drop repeats). 2xx is delivered;
    3xx (never followed) and 4xx other than 408/425/429 are refused for good; anything
    else is retried. Only allowed addresses are reached (`address_guard`): a refused one
    fails the attempt for good, naming the address and why.
    """

    name = "webhook"

    def __init__(
        self,
        *,
        timeout: float,
        staging_target: str | None = None,
        allowed_networks: Sequence[IPNetwork] = (),
        clock: Callable[[], float] = time.time,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.staging_target = staging_target
        self.allowed_networks = tuple(allowed_networks)
        self.clock = clock
        self.resolver = resolver  # the system's unless a test scripts one

    async def send(self, payload: Mapping[str, Any], target: Target, idempotency_key: str) -> None:
        if not target.secret:
            raise DeliveryError("webhook channel has no secret", retryable=False)
        url = self.staging_target or target.address
        body = encode_body(payload)
        timestamp = str(int(self.clock()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "wildflag-delivery/1",
            "X-Wildflag-Timestamp": timestamp,
            "X-Wildflag-Signature": sign(target.secret, timestamp, body),
            "Idempotency-Key": idempotency_key,
        }
        if self.staging_target:
            headers["X-Wildflag-Staging-Original-Target"] = target.address
        # A session of its own per send, guarded (`address_guard`): no caller can hand the
        # webhook an unguarded connection, and nothing outlives the send. Deliveries are
        # few, so the lost connection reuse does not matter.
        http, guard = guarded_session(self.allowed_networks, resolver=self.resolver)
        try:
            async with (
                http,
                http.post(
                    url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False
                ) as response,
            ):
                status = response.status
                location = response.headers.get("Location", "")
                await response.read()
        except AddressRefused as exc:
            raise DeliveryError(f"address refused: {exc}", retryable=False) from None
        except aiohttp.InvalidURL as exc:  # before ClientError, which it also is
            raise DeliveryError(f"invalid webhook URL: {exc}", retryable=False) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            if (refused := refused_cause(exc)) is not None:
                raise DeliveryError(f"address refused: {refused}", retryable=False) from None
            raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True) from None
        finally:
            await guard.close()
        if 200 <= status < 300:
            return
        if 300 <= status < 400:
            # Never followed: a redirect could lead anywhere, an internal address included,
            # and a receiver that moved is fixed by changing the channel's target.
            raise DeliveryError(
                f"HTTP {status} from webhook, redirecting to {location or '(no Location)'}: "
                "redirects are not followed; set the channel's target to the final address",
                retryable=False,
            )
        retryable = not (400 <= status < 500) or status in RETRYABLE_CLIENT_STATUSES
        raise DeliveryError(f"HTTP {status} from webhook", retryable=retryable)


class EmailChannel(Channel):
    """A plain-text e-mail with the JSON payload attached, over SMTP (aiosmtplib).

    The Message-ID is made from the idempotency key, so a repeat after a crash can be
    recognised by the unit's mail system. 5xx SMTP answers are final; the rest is retried.
    """

    name = "email"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, payload: Mapping[str, Any], target: Target, idempotency_key: str) -> None:
        s = self.settings
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = target.address
        comment = payload.get("event") == COMMENT
        update = " update" if payload.get("event") == "case.updated" else ""
        message["Subject"] = (
            comment_subject(dict(payload))
            if comment
            else f"[wildflag] {payload['priority']} case {payload['case']['id']}{update}:"
            f" {payload['reference']}"
        )
        message["Message-ID"] = f"<{idempotency_key}@wildflag>"
        message["X-Wildflag-Idempotency-Key"] = idempotency_key
        # Plain text only: a comment's text goes out exactly as written, never as HTML.
        message.set_content(comment_text(dict(payload)) if comment else summary_text(dict(payload)))
        name = f"wildflag-case-{payload['case']['id']}"
        if comment:
            name += f"-comment-{payload['comment']['id']}"
        message.add_attachment(
            encode_body(payload), maintype="application", subtype="json", filename=f"{name}.json"
        )
        start_tls = {"auto": None, "required": True, "off": False}[s.smtp_starttls]
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password,
                use_tls=s.smtp_tls,
                start_tls=False if s.smtp_tls else start_tls,
                timeout=s.delivery_timeout_seconds,
            )
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"SMTP {exc.code}: {exc.message}", retryable=exc.code < 500
            ) from None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            retryable = any(code < 500 for code in codes)
            raise DeliveryError(f"SMTP recipients refused: {codes}", retryable=retryable) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True) from None


#: The unit-chat buttons, as (label, action). Their callback data is `wf:<action>:<case id>`,
#: a contract with `bot.unit_chat`, which answers the presses (and redraws these buttons).
CASE_BUTTONS = (
    (("Acknowledge", "ack"), ("Assign to me", "asg")),
    (("Reroute…", "rr"), ("Not wildlife", "fp")),
)
#: The button that opens the case. There is no dashboard page yet: it opens the case API
#: (`/api/v1/cases/{id}`, which needs the officer's token) until the dashboard has one.
OPEN_CASE_LABEL = "Open case"


def case_keyboard(case_id: int, case_url: str | None) -> dict[str, Any]:
    """The inline keyboard under a case in a unit's chat (Bot API `InlineKeyboardMarkup`)."""
    rows: list[list[dict[str, str]]] = [
        [{"text": label, "callback_data": f"wf:{action}:{case_id}"} for label, action in row]
        for row in CASE_BUTTONS
    ]
    if case_url:
        rows.append([{"text": OPEN_CASE_LABEL, "url": case_url}])
    return {"inline_keyboard": rows}


class TelegramChannel(Channel):
    """A message to the unit's Telegram chat through the Bot API's `sendMessage`, with the
    case's buttons (`case_keyboard`), which the wildflag bot answers.

    The target is the chat id. 429 and 5xx are retried; other refusals (chat not found,
    bot removed from the chat) are final. The "Open case" link is added only when the
    service has a `public_url`: Telegram refuses buttons that link to a loopback address.
    """

    name = "telegram"

    def __init__(self, http: aiohttp.ClientSession, settings: Settings) -> None:
        self.http = http
        self.settings = settings
        self.timeout = aiohttp.ClientTimeout(total=settings.delivery_timeout_seconds)

    async def send(self, payload: Mapping[str, Any], target: Target, idempotency_key: str) -> None:
        token = self.settings.telegram_token
        if not token:
            raise DeliveryError("telegram_token is not set", retryable=False)
        url = f"{self.settings.telegram_api_url.rstrip('/')}/bot{token}/sendMessage"
        chat: int | str = int(target.address) if _is_int(target.address) else target.address
        body: dict[str, Any]
        if payload.get("event") == COMMENT:
            # A forum message: HTML with everything typed escaped (`comment_html`), no case
            # buttons (it asks for a reply on the case page, not an action).
            body = {
                "chat_id": chat,
                "text": comment_html(dict(payload), link=bool(self.settings.public_url)),
                "parse_mode": "HTML",
                "link_preview_options": {"is_disabled": True},
            }
        else:
            body = {
                "chat_id": chat,
                "text": summary_text(dict(payload))[:4096],  # the Bot API's message limit
                "link_preview_options": {"is_disabled": True},
                "reply_markup": case_keyboard(
                    int(payload["case"]["id"]),
                    payload["case"]["url"] if self.settings.public_url else None,
                ),
            }
        try:
            async with self.http.post(url, json=body, timeout=self.timeout) as response:
                status = response.status
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True) from None
        if 200 <= status < 300 and isinstance(answer, dict) and answer.get("ok"):
            return
        description = answer.get("description", "") if isinstance(answer, dict) else ""
        retryable = status == 429 or status >= 500
        raise DeliveryError(f"Telegram {status}: {description}", retryable=retryable)


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


class Channels(Mapping[str, Channel]):
    """The registry: channels by name, each name once."""

    def __init__(self, channels: Iterable[Channel]) -> None:
        self._by_name: dict[str, Channel] = {}
        for channel in channels:
            if channel.name in self._by_name:
                raise ValueError(f"two channels named {channel.name!r}")
            self._by_name[channel.name] = channel

    def __getitem__(self, name: str) -> Channel:
        return self._by_name[name]

    def __iter__(self) -> Any:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)


#: The channel types a unit may be given (`wildflag units channel add --type`).
CONFIGURABLE_TYPES = ("webhook", "email", "telegram", "noop")


def build_channels(
    http: aiohttp.ClientSession,
    settings: Settings,
    *,
    clock: Callable[[], float] = time.time,
    resolver: AbstractResolver | None = None,
) -> Channels:
    """Every channel. The Telegram channel uses `http` (owned by the caller) to reach the
    operator's Bot API; webhooks, whose addresses units set, go through the address guard.
    `clock` (Unix seconds) stamps webhook signatures; `resolver` stands in for DNS in tests.
    """
    return Channels(
        [
            DashboardChannel(),
            NoopChannel(),
            WebhookChannel(
                timeout=settings.delivery_timeout_seconds,
                staging_target=settings.delivery_staging_target,
                allowed_networks=settings.delivery_allow_private_networks,
                clock=clock,
                resolver=resolver,
            ),
            EmailChannel(settings),
            TelegramChannel(http, settings),
        ]
    )
