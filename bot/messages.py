"""The longer messages the bot composes: the summary before sending, receipts, statuses.

Built from `i18n` strings only; nothing here talks to Telegram or the backend. The summary
must show everything that will leave the chat, because the user confirms exactly that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.draft import country_name
from bot.i18n import language_of, t

if TYPE_CHECKING:
    from telegram import Update
    from telegram.ext import ContextTypes

#: The summary shows the text up to this many characters; Telegram caps a message at 4096.
SUMMARY_TEXT_CHARS = 1500


def language(user_data: dict[str, Any], telegram_code: str | None = None) -> str:
    """The user's chosen language, else their Telegram app's, else English."""
    return str(user_data.get("lang") or language_of(telegram_code))


def user_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The language to answer the user of `update` in (see `language`)."""
    user = update.effective_user
    return language(context.user_data or {}, user.language_code if user else None)


def summary(
    fields: dict[str, Any],
    photos: int,
    lang: str,
    service: str,
    officer: dict[str, Any] | None = None,
) -> str:
    """What the user confirms, read from the very fields that will be posted; a linked
    officer is told the report goes as their account."""
    lines = [t(lang, "summary_title")]
    if fields.get("url"):
        lines.append(t(lang, "summary_link", url=fields["url"]))
    text = fields.get("text") or ""
    if len(text) > SUMMARY_TEXT_CHARS:
        lines.append(t(lang, "summary_text_cut", chars=len(text), text=text[:SUMMARY_TEXT_CHARS]))
    elif text:
        lines.append(t(lang, "summary_text", text=text))
    if photos:
        lines.append(t(lang, "summary_photos", count=photos))
    if fields.get("seller_location"):
        lines.append(t(lang, "summary_country", country=country_name(fields["seller_location"])))
    else:
        lines.append(t(lang, "summary_country_none"))
    if fields.get("notes"):
        lines.append(t(lang, "summary_notes", notes=fields["notes"]))
    if officer:
        to = t(
            lang,
            "summary_to_officer",
            service=service,
            name=officer.get("name") or officer.get("id"),
            unit=officer.get("unit") or "—",
        )
    else:
        to = t(lang, "summary_to", service=service)
    lines += ["", to]
    return "\n".join(lines)


def species_list(species: list[dict[str, Any]], lang: str) -> str:
    """One entry per taxon, in the backend's order, with its Appendix."""
    seen: dict[str, str] = {}
    for match in species:
        seen.setdefault(str(match.get("taxon")), str(match.get("appendix")))
    return "; ".join(t(lang, "species_item", taxon=k, appendix=v) for k, v in seen.items())


def priority(value: str | None, lang: str) -> str:
    key = f"priority_{value}"
    return t(lang, key) if value in ("critical", "high", "normal", "review") else str(value)


def receipt(body: dict[str, Any], lang: str) -> str:
    """The receipt: reference, species and Appendix, priority, units, the status link.

    "Already reported" only when the backend said so, which it does to linked officers
    alone: an anonymous receipt has no `duplicate`, so nothing here can hint at it.
    """
    lines = [t(lang, "receipt_title", reference=body["reference"])]
    if body.get("duplicate") is True:
        count = body.get("case_reports") or "?"
        lines.append(t(lang, "receipt_duplicate", case=body.get("case_id"), count=count))
    elif body.get("duplicate") is False and body.get("case_id") is not None:
        lines.append(t(lang, "receipt_new_case", case=body["case_id"]))
    species = body.get("species") or []
    if species:
        lines.append(t(lang, "receipt_species", species=species_list(species, lang)))
    else:
        lines.append(t(lang, "receipt_no_species"))
    lines.append(t(lang, "receipt_priority", priority=priority(body.get("priority"), lang)))
    lines.append(t(lang, "receipt_units", units=", ".join(body.get("routed_to") or []) or "—"))
    if body.get("status_url"):
        lines.append(t(lang, "receipt_link", url=body["status_url"], reference=body["reference"]))
    return "\n".join(lines)


def status(body: dict[str, Any], lang: str) -> str:
    lines = [t(lang, "status_title", reference=body["reference"], status=body.get("status"))]
    if body.get("received_at"):
        lines.append(t(lang, "status_received", date=str(body["received_at"])[:16]))
    species = body.get("species") or []
    if species:
        lines.append(t(lang, "receipt_species", species=species_list(species, lang)))
    lines.append(t(lang, "receipt_priority", priority=priority(body.get("priority"), lang)))
    lines.append(t(lang, "receipt_units", units=", ".join(body.get("routed_to") or []) or "—"))
    return "\n".join(lines)
