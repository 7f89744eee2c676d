"""What the bot remembers, kept in python-telegram-bot's persistence (a pickle file).

Per user (`user_data`): the language, the references and receipt tokens of their reports
(so `/status` shows a user only their own reports), the times of their recent reports
(the rate limit) and, for a linked officer, the account they linked (`officer`: whether
their reports carry their identity). Per bot (`bot_data`): the queue of confirmed reports
waiting for the backend. Never a photo: queued reports hold Telegram file ids, downloaded
again at retry. Plain dicts and lists only, so a state file survives changes to the bot's classes.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from telegram.ext import PicklePersistence

from bot.draft import PhotoRef

#: Reports remembered per user for /status and /mine; older ones drop off.
MAX_REMEMBERED = 50
HOUR = 3600.0


def persistence(state_dir: Path) -> PicklePersistence:
    """The state file under `$WILDFLAG_DATA_DIR/bot/`."""
    state_dir.mkdir(parents=True, exist_ok=True)
    return PicklePersistence(filepath=state_dir / "state.pickle")


def officer(user_data: dict[str, Any]) -> dict[str, Any] | None:
    """The account a linked officer acts as (`{id, name, role, unit}`), else None."""
    account = user_data.get("officer")
    return account if isinstance(account, dict) else None


def remember_report(
    user_data: dict[str, Any], receipt: dict[str, Any], *, as_officer: bool = False
) -> None:
    """Keep a receipt's reference and token; the token (or, for an officer's report, the
    officer's link) is what opens its status."""
    reports: list[dict[str, Any]] = user_data.setdefault("reports", [])
    reports.append(
        {
            "reference": receipt["reference"],
            "receipt_token": receipt.get("receipt_token"),
            "as_officer": as_officer,
            "status_url": receipt.get("status_url"),
            "priority": receipt.get("priority"),
            "sent_at": time.time(),
        }
    )
    del reports[:-MAX_REMEMBERED]


def own_report(user_data: dict[str, Any], reference: str) -> dict[str, Any] | None:
    wanted = reference.strip().upper()
    for report in user_data.get("reports", []):
        if report["reference"].upper() == wanted:
            return report
    return None


def rate_limit_wait(user_data: dict[str, Any], per_hour: int, now: float | None = None) -> float:
    """Seconds until this user may confirm another report (0 when they may now)."""
    now = time.time() if now is None else now
    recent = [at for at in user_data.get("sent", []) if now - at < HOUR]
    user_data["sent"] = recent
    if len(recent) < per_hour:
        return 0.0
    return HOUR - (now - min(recent))


def count_sent(user_data: dict[str, Any], now: float | None = None) -> None:
    user_data.setdefault("sent", []).append(time.time() if now is None else now)


def queue_of(bot_data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    queue: dict[str, dict[str, Any]] = bot_data.setdefault("queue", {})
    return queue


def enqueue(
    bot_data: dict[str, Any],
    *,
    user_id: int,
    chat_id: int,
    lang: str,
    fields: dict[str, Any],
    photos: list[PhotoRef],
    retry_in: float,
    as_officer: bool = False,
) -> dict[str, Any]:
    """Keep a confirmed report until its fate is known: sent, or refused by the backend.

    `as_officer` is decided at Confirm, from what the summary showed: a report confirmed
    as anonymous never carries the user's identity, even if they link before it is sent.
    """
    entry = {
        "id": uuid.uuid4().hex,
        # Sent as Idempotency-Key on every attempt: if the backend stored the report but
        # its answer was lost, the retry gets that report's receipt instead of a second one.
        "idempotency_key": str(uuid.uuid4()),
        "user_id": user_id,
        "as_officer": as_officer,
        "chat_id": chat_id,
        "lang": lang,
        "fields": fields,
        "photos": [asdict(p) for p in photos],
        "attempts": 0,
        "queued_at": time.time(),
        "next_at": time.time() + retry_in,
    }
    queue_of(bot_data)[entry["id"]] = entry
    return entry


def idempotency_key(entry: dict[str, Any]) -> str:
    """The entry's Idempotency-Key; one is added to entries queued before keys existed
    (kept from then on, as the entry is persisted after every attempt)."""
    key: str = entry.setdefault("idempotency_key", str(uuid.uuid4()))
    return key


def queued_photos(entry: dict[str, Any]) -> list[PhotoRef]:
    return [PhotoRef(**p) for p in entry["photos"]]


def queued_for(bot_data: dict[str, Any], user_id: int) -> list[dict[str, Any]]:
    return [e for e in queue_of(bot_data).values() if e["user_id"] == user_id]
