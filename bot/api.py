"""The bot's small client of the backend's HTTP API (`/api/v1/reports`).

The bot never touches the database or the backend's code: it reports exactly as any API
client does, so there is one intake path. Failures come back as two families of typed
exceptions, because the bot must treat them differently:

- `ApiRejected`: the backend understood and refused (4xx with its JSON error). Retrying the
  same report cannot help; the user is shown the backend's message.
- `BackendUnavailable`: the backend is down, timed out, failed (5xx) or asked us to slow
  down (429). A confirmed report is kept and retried.

It must never send the reporter's Telegram identity: reports are anonymous.
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
        # Kept for officer linking (phase 2); never sent with a report in phase 1, because a
        # bearer token makes the backend attribute the report to an account.
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

    async def submit_report(
        self, fields: dict[str, Any], photos: Sequence[Photo] = ()
    ) -> dict[str, Any]:
        """POST /api/v1/reports as multipart: a `report` JSON part plus `images` files.

        Returns the receipt (201 body): reference, receipt_token, status_url, species,
        priority, routed_to.
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
        return await self._call("POST", "/api/v1/reports", data=form)

    async def report_status(self, reference: str, receipt_token: str) -> dict[str, Any]:
        """GET /api/v1/reports/{reference} with the receipt token the reporter holds."""
        return await self._call(
            "GET", f"/api/v1/reports/{reference}", headers={"X-Receipt-Token": receipt_token}
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self._client().request(method, self.base_url + path, **kwargs) as resp:
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
