"""The bot's small client of the backend's HTTP API: reports, Telegram links, case actions.

The bot never touches the database or the backend's code: it reports exactly as any API
client does, so there is one intake path. Failures come back as two families of typed
exceptions, because the bot must treat them differently:

- `ApiRejected`: the backend understood and refused (4xx with its JSON error). Retrying the
  same report cannot help; the user is shown the backend's message.
- `BackendUnavailable`: the backend is down, timed out, failed (5xx) or asked us to slow
  down (429). A confirmed report is kept and retried.

With a backend token (role `bot`) every call carries it: the public's reports then skip
the backend's per-address limit (the bot limits per user). `X-Telegram-User` is sent only
where a user's identity is the point: a linked officer's report, /link and /unlink, and a
unit-chat button press, where the backend acts with the pressing officer's rights. A
member of the public's Telegram identity is never sent: their reports are anonymous.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass(frozen=True)
class Photo:
    """One image to upload, held in memory only."""

    filename: str
    content_type: str
    data: bytes


class WildflagApiError(Exception):
    """Base of every failure talking to the backend."""


class ApiRejected(WildflagApiError):
    """The backend refused the request (4xx): `message` is the backend's own explanation."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field


class BackendUnavailable(WildflagApiError):
    """The request may succeed later: keep the report and retry it."""

    #: Seconds the backend asked us to wait, when it said so (429 Retry-After).
    retry_after: float | None = None


class BackendDown(BackendUnavailable):
    """No connection could be made: the backend is not running or not reachable."""


class BackendTimeout(BackendUnavailable):
    """The backend did not answer in time."""


class BackendFailed(BackendUnavailable):
    """The backend answered 5xx, or something that is not its JSON."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class BackendRateLimited(BackendUnavailable):
    """429: the backend's per-address limit; the bot waits as long as it is told."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class WildflagApi:
    """Reports in, status out. Owns one aiohttp session, opened on first use."""

    def __init__(
        self, base_url: str, *, timeout: float = 30.0, bearer_token: str | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        # The bot's own backend token (role `bot`). Alone it attributes nothing to anyone:
        # the backend keeps such reports anonymous.
        self.bearer_token = bearer_token
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def acts_for_users(self) -> bool:
        """Whether the bot can act for linked officers (it has a backend token)."""
        return self.bearer_token is not None

    async def submit_report(
        self,
        fields: dict[str, Any],
        photos: Sequence[Photo] = (),
        *,
        telegram_user: int | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """POST /api/v1/reports as multipart: a `report` JSON part plus `images` files.

        Returns the receipt (201 body): reference, receipt_token, status_url, species,
        priority, routed_to; for a linked officer (`telegram_user`) also case_id,
        duplicate and case_reports. With `idempotency_key` (the same on every attempt at
        one report) a retry after a lost answer gets the first receipt again (200) instead
        of storing the report twice.
        """
        form = aiohttp.FormData()
        form.add_field(
            "report",
            json.dumps(fields, ensure_ascii=False),
            content_type="application/json",
            filename="report.json",
        )
        for photo in photos:
            form.add_field(
                "images", photo.data, filename=photo.filename, content_type=photo.content_type
            )
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return await self._call(
            "POST", "/api/v1/reports", telegram_user, data=form, headers=headers
        )

    async def report_status(
        self, reference: str, receipt_token: str | None, *, telegram_user: int | None = None
    ) -> dict[str, Any]:
        """GET /api/v1/reports/{reference} with the reporter's receipt token, or as the
        linked officer who sent it (officers' reports have no receipt token)."""
        headers = {"X-Receipt-Token": receipt_token} if receipt_token else {}
        return await self._call(
            "GET", f"/api/v1/reports/{reference}", telegram_user, headers=headers
        )

    # --- Telegram links -----------------------------------------------------------------

    async def link(self, code: str, telegram_user: int) -> dict[str, Any]:
        """Redeem a link code: `{account: {id, name, role, unit}}`."""
        return await self._call(
            "POST", "/api/v1/telegram/links", telegram_user, json={"code": code}
        )

    async def void_code(self, code: str) -> bool:
        """Spend a code seen in a group, so that nobody who saw it can use it."""
        body = await self._call("POST", "/api/v1/telegram/link-codes/void", json={"code": code})
        return bool(body.get("voided"))

    async def unlink(self, telegram_user: int) -> bool:
        """Remove the user's link; whether there was one."""
        body = await self._call("DELETE", "/api/v1/telegram/links", telegram_user)
        return bool(body.get("unlinked"))

    # --- case actions, with the pressing officer's rights --------------------------------

    async def get_case(self, case_id: int, telegram_user: int) -> dict[str, Any]:
        return await self._call("GET", f"/api/v1/cases/{case_id}", telegram_user)

    async def acknowledge(self, case_id: int, telegram_user: int) -> dict[str, Any]:
        return await self._case_action(case_id, "acknowledge", telegram_user, {})

    async def assign_to_self(self, case_id: int, telegram_user: int) -> dict[str, Any]:
        return await self._case_action(case_id, "assign", telegram_user, {})

    async def close_case(self, case_id: int, outcome: str, telegram_user: int) -> dict[str, Any]:
        body = {"status": "closed", "outcome": outcome}
        return await self._case_action(case_id, "status", telegram_user, body)

    async def reroute(
        self, case_id: int, unit: str, reason: str, telegram_user: int
    ) -> dict[str, Any]:
        body = {"unit": unit, "reason": reason}
        return await self._case_action(case_id, "reroute", telegram_user, body)

    async def _case_action(
        self, case_id: int, action: str, telegram_user: int, body: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._call(
            "POST", f"/api/v1/cases/{case_id}/{action}", telegram_user, json=body
        )

    async def _call(
        self, method: str, path: str, telegram_user: int | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.bearer_token:
            headers["Authorization"] = f"Bearer {self.bearer_token}"
        if telegram_user is not None:
            headers["X-Telegram-User"] = str(telegram_user)
        try:
            async with self._client().request(
                method, self.base_url + path, headers=headers, **kwargs
            ) as resp:
                raw = await resp.read()
                status = resp.status
                retry_after = resp.headers.get("Retry-After")
        except TimeoutError:
            raise BackendTimeout(f"the backend at {self.base_url} did not answer in time") from None
        except aiohttp.ClientConnectionError as exc:
            raise BackendDown(f"cannot reach the backend at {self.base_url}: {exc}") from None
        except aiohttp.ClientError as exc:
            raise BackendFailed(0, f"bad answer from the backend: {exc}") from None
        body = _json(raw)
        if 200 <= status < 300 and isinstance(body, dict):
            return body
        code, message, field = _error_of(body, status)
        if status == 429:
            raise BackendRateLimited(message, _seconds(retry_after))
        if 400 <= status < 500:
            raise ApiRejected(status, code, message, field)
        raise BackendFailed(status, message)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _error_of(body: Any, status: int) -> tuple[str, str, str | None]:
    """The backend's `{error: {code, message, field?}}`, or a stand-in for a non-JSON answer."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        field = error.get("field")
        return str(error.get("code", "error")), error["message"], field if field else None
    return "http_error", f"unexpected answer (HTTP {status})", None


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
