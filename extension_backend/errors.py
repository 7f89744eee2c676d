"""Errors as the API speaks them: JSON `{error: {code, message, field?}}` with the right status.

Handlers raise `ApiError` (or let aiohttp raise its HTTP exceptions); `error_middleware`
turns every failure into that shape, so no client ever parses an HTML error page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from db.cases import CaseChangeError
from db.engine import database_unavailable, storage_full

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
    507: "insufficient_storage",
}
#: What a 503 for an unreachable database tells clients to wait: a restart or a failover
#: takes seconds, and a client retrying with its `Idempotency-Key` stores its report once.
RETRY_AFTER_SECONDS = 1


class ApiError(Exception):
    """A request the service refuses, with the status, a stable code and a human message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


def invalid(field: str, message: str, *, code: str = "invalid_field") -> ApiError:
    """422: the request was well-formed but a field's value is not acceptable."""
    return ApiError(422, code, message, field=field)


def error_response(error: ApiError) -> web.Response:
    return web.json_response(error.body(), status=error.status, headers=error.headers)


def unavailable() -> ApiError:
    """503: the database cannot be reached now (restarting, connection lost); retry."""
    return ApiError(
        503,
        "unavailable",
        "the service cannot reach its database right now; retry later (a report sent "
        "again with the same Idempotency-Key is stored once)",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def insufficient_storage() -> ApiError:
    """507: a disk (evidence files or the database) is full; nothing was stored."""
    return ApiError(
        507, "insufficient_storage", "the server is out of storage space; nothing was stored"
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return error_response(error)
    except CaseChangeError as error:  # a merge, split or reroute that cannot be done as asked
        return error_response(ApiError(409, "conflict", str(error)))
    except web.RequestPayloadError:
        # The body broke off or its Content-Encoding (gzip, deflate) does not decode.
        return error_response(
            ApiError(400, "malformed_body", "the request body cannot be read or decoded")
        )
    except web.HTTPRequestEntityTooLarge as exc:
        # aiohttp raises this when a body outgrows `client_max_size` (a chunked body has no
        # Content-Length to refuse up front); the limit is only in its text.
        return error_response(ApiError(413, "too_large", f"the request is too large: {exc.text}"))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _CODES.get(exc.status, "http_error")
        headers = {k: v for k, v in exc.headers.items() if k.lower() in {"allow", "retry-after"}}
        return error_response(ApiError(exc.status, code, exc.reason, headers=headers))
    except Exception as exc:
        # Faults outside the request, not bugs: one log line each, not a traceback per
        # request while they last.
        if storage_full(exc):
            log.error("out of storage on %s %s: %s", request.method, request.path, exc)
            return error_response(insufficient_storage())
        if database_unavailable(exc):
            first_line = (str(exc).splitlines() or [""])[0]
            log.warning(
                "database unavailable on %s %s: %s: %s",
                request.method, request.path, type(exc).__name__, first_line,
            )  # fmt: skip
            return error_response(unavailable())
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(ApiError(500, "internal", "internal error; nothing was stored"))
