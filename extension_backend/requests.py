"""Reading request bodies safely: size limits, JSON that is really JSON, multipart parts.

Every refusal is an `ApiError` with the status that fits: 400 for a body that cannot be
parsed, 413 for one that is too large, 415 for a content type we do not take, 422 for
well-formed content whose values are wrong.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BaseModel, ValidationError

from extension_backend.errors import ApiError
from extension_backend.intake import IncomingFile
from extension_backend.settings import Settings

FILE_PARTS = ("images", "screenshot", "snapshot")
SINGLE_PARTS = ("report", "screenshot", "snapshot")
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: What a client may choose as a key: room for a UUID, a ULID or "bot:<uuid>", nothing that
#: needs escaping in logs or headers.
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{1,100}")


def media_type(request: web.Request) -> str:
    return request.content_type.lower()


def check_declared_length(request: web.Request, limit: int) -> None:
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "too_large", f"the request is larger than {limit} bytes")


class _Refused(ValueError):
    """Raised from inside the JSON decoder's hooks; becomes an `ApiError` in `parse_json`."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


def _no_constant(name: str) -> Any:
    raise _Refused("malformed_json", f"{name} is not JSON (RFC 8259 has no such number)")


def _finite(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise _Refused("malformed_json", f"the number {text[:40]} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are unique. A repeated key is refused rather than resolved:
    a proxy, a log or a WAF that keeps the first value and Python that keeps the last
    would otherwise disagree about what was reported."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused("duplicate_key", f"the key {key!r} appears more than once", key)
        result[key] = value
    return result


def parse_json(raw: bytes, *, what: str = "body") -> Any:
    """Strict JSON: UTF-8, one value, finite numbers, unique keys, bounded nesting.

    Python's decoder would accept `NaN`, `Infinity` and repeated keys; a stored NaN price
    breaks every JSON consumer downstream, so they are refused here. Nesting deep enough
    to exhaust the stack raises RecursionError in the C decoder, caught as a 400.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_utf8", f"the {what} is not valid UTF-8") from None
    try:
        return json.loads(
            text,
            parse_constant=_no_constant,
            parse_float=_finite,
            object_pairs_hook=_unique_keys,
        )
    except RecursionError:
        raise ApiError(400, "malformed_json", f"the {what} is nested too deeply") from None
    except _Refused as exc:
        raise ApiError(400, exc.code, f"the {what} is refused: {exc}", field=exc.field) from None
    except ValueError as exc:
        raise ApiError(400, "malformed_json", f"the {what} is not valid JSON: {exc}") from None


#: Characters no text field may hold: NUL (PostgreSQL refuses it in text) and UTF-16
#: surrogates, which a JSON `\ud800` escape can smuggle in and no database can store.
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _unstorable(value: Any) -> bool:
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if isinstance(value, list):
        return any(_unstorable(item) for item in value)
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    return False


def check_characters(data: dict[str, Any]) -> None:
    """422 `invalid_characters` for NUL or a lone surrogate anywhere in the object.

    Refused rather than silently removed: the report is evidence, and what is stored must
    be what was sent. A bad key is not echoed back (the answer must itself be clean text).
    """
    for key, value in data.items():
        if _unstorable(key):
            raise ApiError(
                422,
                "invalid_characters",
                "a field name holds NUL or a lone UTF-16 surrogate",
            )
        if _unstorable(value):
            raise ApiError(
                422,
                "invalid_characters",
                f"{key}: NUL characters and lone UTF-16 surrogates are not accepted",
                field=key,
            )


def validate(model: type[BaseModel], data: Any) -> BaseModel:
    """Validate `data` against `model`; the first problem becomes a 422 naming its field."""
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_body", "expected a JSON object")
    check_characters(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        # The top-level key: deeper parts of `loc` are a union's member names or a list
        # index ("price.constrained-str"), which no client sent.
        field = str(first["loc"][0]) if first["loc"] else None
        message = first["msg"]
        if first["type"] == "extra_forbidden":
            message = "unknown field"
        code = {"extra_forbidden": "unknown_field", "invalid_url": "invalid_url"}.get(
            first["type"], "invalid_field"
        )
        raise ApiError(
            422, code, f"{field}: {message}" if field else message, field=field
        ) from None


async def read_json_body(request: web.Request, settings: Settings) -> Any:
    if media_type(request) != "application/json":
        raise ApiError(415, "unsupported_media_type", "send application/json")
    check_declared_length(request, settings.max_request_bytes)
    return parse_json(await request.read())


async def _read_part(part: BodyPartReader, limit: int, name: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk():
        size += len(chunk)
        if size > limit:
            raise ApiError(
                413, "too_large", f"part {name!r} is larger than {limit} bytes", field=name
            )
        chunks.append(chunk)
    try:
        # Applies a Content-Transfer-Encoding if one was sent (browsers never send one):
        # bad base64 is a ValueError, an encoding aiohttp does not know a RuntimeError.
        return part.decode(b"".join(chunks))
    except (ValueError, RuntimeError) as exc:
        raise ApiError(
            400, "malformed_multipart", f"part {name!r} cannot be decoded: {exc}", field=name
        ) from None


async def read_report_request(
    request: web.Request, settings: Settings
) -> tuple[Any, list[IncomingFile]]:
    """The report JSON and its files, from a JSON body or a multipart form."""
    kind = media_type(request)
    if kind == "application/json":
        return await read_json_body(request, settings), []
    if kind != "multipart/form-data":
        raise ApiError(
            415, "unsupported_media_type", "send application/json or multipart/form-data"
        )
    check_declared_length(request, settings.max_request_bytes)
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError) as exc:
        raise ApiError(400, "malformed_multipart", f"unreadable multipart body: {exc}") from None
    report: Any = None
    files: list[IncomingFile] = []
    seen: set[str] = set()
    total = 0
    while True:
        try:
            part = await reader.next()
        except (ValueError, HttpProcessingError) as exc:
            # HttpProcessingError: aiohttp's InvalidHeader for a part header it cannot
            # parse (a raw NUL in a filename, say), which is no ValueError.
            raise ApiError(
                400, "malformed_multipart", f"unreadable multipart body: {exc}"
            ) from None
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise ApiError(400, "malformed_multipart", "nested multipart is not accepted")
        name = part.name or ""
        if name not in ("report", *FILE_PARTS):
            raise ApiError(
                422,
                "unknown_part",
                f"unknown part {name!r}; expected report, images, screenshot or snapshot",
                field=name or None,
            )
        if name in SINGLE_PARTS and name in seen:
            raise ApiError(422, "repeated_part", f"part {name!r} may appear once", field=name)
        seen.add(name)
        if name == "report":
            limit = settings.max_text_chars * 8
        elif name == "snapshot":
            limit = settings.max_snapshot_bytes
        else:
            limit = settings.max_image_bytes
        data = await _read_part(part, limit, name)
        total += len(data)
        if total > settings.max_request_bytes:
            raise ApiError(
                413, "too_large", f"the request is larger than {settings.max_request_bytes} bytes"
            )
        if name == "report":
            report = parse_json(data, what="report part")
        else:
            files.append(
                IncomingFile(
                    part=name,
                    filename=part.filename,
                    content_type=part.headers.get("Content-Type"),
                    data=data,
                )
            )
    if report is None:
        raise ApiError(
            422, "missing_part", "a multipart report needs a 'report' JSON part", field="report"
        )
    return report, files


def idempotency_key(request: web.Request) -> str | None:
    """The request's `Idempotency-Key`, None without one; 400 when it is not a valid key.

    Checked before the body is read, so a malformed key stores nothing: a client that sent
    a key means "at most once", and silently ignoring a bad one would break that promise.
    """
    values = request.headers.getall(IDEMPOTENCY_HEADER, [])
    if not values:
        return None
    if len(values) > 1 or not IDEMPOTENCY_KEY.fullmatch(values[0]):
        raise ApiError(
            400,
            "invalid_idempotency_key",
            f"{IDEMPOTENCY_HEADER} must be one value of 1 to 100 characters from "
            "A-Z a-z 0-9 . _ : -",
            field=IDEMPOTENCY_HEADER,
        )
    return values[0]
