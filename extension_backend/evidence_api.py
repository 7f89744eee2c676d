"""Evidence files for the units a case went to: by signed link from a delivery, or by token.

`GET /api/v1/evidence/{sha256}?case=ID&expires=UNIX&delivery=ID&sig=HEX` serves the stored
copy of one evidence file of one case. Deliveries carry such links (webhook payloads,
e-mail, Telegram) so a unit can open the pictures without an account; the same path with
`?case=ID` and a bearer token of an account that sees the case works without a link.

What it must never do:
- serve the bytes as received: only the stored copy exists on disk, re-encoded without
  EXIF/GPS (see `evidence`), so a reporter's location never leaves through a link;
- tell a prober anything: a bad signature, an unknown digest, a digest of another case and
  a case the token does not see all get the same 404. Only a link whose signature is right
  but whose time is up gets 410 Gone, and only its rightful holder can produce that, so it
  reveals nothing; it tells them to get a fresh link instead of reporting a broken one;
- be read without a trace: every view writes an `evidence.viewed` audit event.

The signature is HMAC-SHA256 under the server's link secret over the digest, case id,
expiry and delivery id, so none can be changed to open another file or extend a link.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import re
import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.cases import units_of
from db.models import AuditEvent, Case, Delivery, Evidence, Report
from extension_backend import keys
from extension_backend.api import principal_of
from extension_backend.errors import ApiError
from extension_backend.schemas import MAX_ROW_ID
from extension_backend.settings import Settings

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

#: Where a generated link secret is kept, in the data dir, readable by its owner only.
SECRET_FILE = "evidence-link.secret"  # noqa: S105 - a file name, not a secret
#: Versioned, so a future link format can never be confused with this one.
SIGNED_PREFIX = "wildflag-evidence-link/v1"
SHA256 = re.compile(r"[0-9a-f]{64}")
#: File extensions for the download name; the stored media type decides, never the
#: reporter's filename (which could name them, and is only a label).
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "text/html": "html",
    "multipart/related": "mhtml",
    "application/x-mimearchive": "mhtml",
}
#: Merges form chains (a case merged into one later merged again); links follow them.
MAX_MERGE_HOPS = 32


def _not_found() -> ApiError:
    """The one answer for every link or request that does not open a file."""
    return ApiError(
        404,
        "not_found",
        "no evidence file for this link or token",
        headers={"Cache-Control": "no-store"},
    )


def load_link_secret(settings: Settings) -> bytes:
    """The link secret: the setting, else the data dir's file, made on first use.

    Two processes starting on one fresh data dir agree: the file is written whole under a
    temporary name and linked into place, and the one that loses the race reads the other's.
    """
    if settings.evidence_link_secret:
        return settings.evidence_link_secret.encode()
    path = settings.data_dir / SECRET_FILE
    if path.exists():
        return _read_secret(path)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=settings.data_dir, prefix=".evidence-link-")
    try:
        with os.fdopen(fd, "w") as handle:  # mkstemp files are 0600
            handle.write(secrets.token_hex(32) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            os.link(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < 32:
        raise RuntimeError(f"{path} holds no usable evidence link secret; remove it")
    return secret.encode()


def plain_number(text: str, digits: int) -> bool:
    """ASCII digits only, at most `digits` of them. `str.isdigit` alone passes "²", which
    `int` refuses, and `int` refuses more than 4300 digits: both were 500s."""
    return text.isascii() and text.isdigit() and len(text) <= digits


class Verdict(Enum):
    VALID = "valid"
    EXPIRED = "expired"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class EvidenceLinks:
    """Makes and checks signed evidence links. Pure once built: no I/O, time passed in."""

    secret: bytes
    base_url: str
    ttl_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> EvidenceLinks:
        """Reads (or makes) the secret file when no secret is set: call off the event loop."""
        return cls(
            secret=load_link_secret(settings),
            base_url=settings.base_url,
            ttl_seconds=settings.evidence_link_ttl_days * 86400,
        )

    def signature(self, sha256: str, case_id: int, expires: int, delivery_id: int) -> str:
        message = f"{SIGNED_PREFIX}\n{sha256}\n{case_id}\n{expires}\n{delivery_id}"
        return hmac.new(self.secret, message.encode(), hashlib.sha256).hexdigest()

    def url(self, sha256: str, case_id: int, delivery_id: int, now: float) -> str:
        """A link to one file of a case, for the recipients of one delivery, valid for the TTL."""
        expires = int(now + self.ttl_seconds)
        query = urlencode(
            {
                "case": case_id,
                "expires": expires,
                "delivery": delivery_id,
                "sig": self.signature(sha256, case_id, expires, delivery_id),
            }
        )
        return f"{self.base_url}/api/v1/evidence/{sha256}?{query}"

    def check(
        self, sha256: str, case_id: int, expires: str, delivery: str, sig: str, now: float
    ) -> Verdict:
        """Whether a link's parameters are ours and unchanged, and still in time.

        The signature is checked first (constant-time): expiry is only ever reported for
        a link this server made.
        """
        if not (plain_number(expires, 12) and plain_number(delivery, 10)):
            return Verdict.INVALID
        expected = self.signature(sha256, case_id, int(expires), int(delivery))
        if not hmac.compare_digest(expected.encode(), sig.strip().lower().encode()):
            return Verdict.INVALID
        return Verdict.VALID if now <= int(expires) else Verdict.EXPIRED


#: The app's link maker and checker (set up by `links_context`).
LINKS = web.AppKey("evidence_links", EvidenceLinks)


async def links_context(app: web.Application) -> AsyncIterator[None]:
    """A cleanup context that loads (or makes) the link secret when the app starts."""
    app[LINKS] = await asyncio.to_thread(EvidenceLinks.from_settings, app[keys.SETTINGS])
    yield


async def _case_chain(session: AsyncSession, case_id: int) -> list[int]:
    """The case and the cases it was merged into, in order: its evidence may live there now."""
    chain: list[int] = []
    current: int | None = case_id
    while current is not None and current not in chain and len(chain) < MAX_MERGE_HOPS:
        case = await session.get(Case, current)
        if case is None:
            break
        chain.append(current)
        current = case.merged_into_id
    return chain


async def evidence_of_case(session: AsyncSession, sha256: str, case_id: int) -> Evidence | None:
    """The evidence row with this digest in this case (following merges), if any."""
    chain = await _case_chain(session, case_id)
    if not chain:
        return None
    return (
        await session.exec(
            select(Evidence)
            .join(Report, col(Report.id) == Evidence.report_id)
            .where(Evidence.sha256 == sha256, col(Report.case_id).in_(chain))
            .order_by(col(Evidence.id))
        )
    ).first()


def _case_param(request: web.Request) -> int:
    """The `case` query parameter; the one 404 when it cannot be a case id (a number past
    the id column's range would fail the query, a 500)."""
    value = request.query.get("case", "")
    if not plain_number(value, 10) or not 0 < int(value) <= MAX_ROW_ID:
        raise _not_found()
    return int(value)


@routes.get("/api/v1/evidence/{sha256}")
async def get_evidence(request: web.Request) -> web.Response:
    sha256 = request.match_info["sha256"]
    if not SHA256.fullmatch(sha256):
        raise _not_found()
    case_id = _case_param(request)
    query = request.query
    verdict = Verdict.INVALID
    if "sig" in query:
        verdict = request.app[LINKS].check(
            sha256,
            case_id,
            query.get("expires", ""),
            query.get("delivery", ""),
            query["sig"],
            time.time(),
        )
    principal = None if verdict is Verdict.VALID else await principal_of(request)
    if verdict is not Verdict.VALID and principal is None:
        if verdict is Verdict.EXPIRED:
            raise ApiError(
                410,
                "link_expired",
                "this evidence link has expired; open the case with a unit token instead",
                headers={"Cache-Control": "no-store"},
            )
        raise _not_found()
    async with request.app[keys.SESSIONS]() as session:
        if principal is not None:
            if not any(principal.sees_unit(code) for code in await units_of(session, case_id)):
                raise _not_found()
            actor, delivery_id, unit = principal.actor, None, principal.unit_code
        else:
            delivery_id = int(query["delivery"])
            delivery = await session.get(Delivery, delivery_id)
            unit = delivery.unit_code if delivery is not None else None
            actor = f"link:delivery:{delivery_id}"
        evidence = await evidence_of_case(session, sha256, case_id)
        if evidence is None:
            raise _not_found()
        store = request.app[keys.STORE]
        try:
            data = await asyncio.to_thread(store.read, sha256)
        except FileNotFoundError:
            log.error("evidence %s of case %d is in the database but not on disk", sha256, case_id)
            raise _not_found() from None
        session.add(
            AuditEvent(
                actor=actor,
                action="evidence.viewed",
                object_type="evidence",
                object_id=sha256,
                details={
                    "sha256": sha256,
                    "case": case_id,
                    "via": "token" if principal is not None else "link",
                    "delivery": delivery_id,
                    "unit": unit,
                    "kind": evidence.kind,
                },
            )
        )
        await session.commit()
    return web.Response(body=data, headers=_file_headers(evidence, case_id))


def _file_headers(evidence: Evidence, case_id: int) -> dict[str, str]:
    """Headers that keep a served file private and inert.

    Images open inline; a page snapshot (HTML of a seller's page, scripts and all) is only
    ever a download, and sandboxed should a browser render it anyway.
    """
    media_type = evidence.media_type
    name = f"wildflag-case-{case_id}-{evidence.sha256[:16]}.{EXTENSIONS.get(media_type, 'bin')}"
    disposition = "inline" if media_type.startswith("image/") else "attachment"
    return {
        "Content-Type": media_type,
        "Content-Disposition": f'{disposition}; filename="{name}"',
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Referrer-Policy": "no-referrer",
    }
