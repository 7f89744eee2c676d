"""A report being put together in the chat, and the backend fields it becomes.

Pure data, no Telegram calls: the conversation fills a `Draft`, `report_fields` turns it
into the `POST /api/v1/reports` JSON. Photos are Telegram file ids, never bytes, so a draft
or a queued report in the bot's state file holds no image (they are downloaded at sending).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pycountry

#: What the backend takes as listing images (its evidence module refuses anything else).
IMAGE_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
}

_URL = re.compile(r"(?:https?://|www\.|t\.me/)[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""


@dataclass
class PhotoRef:
    """A photo or image file the user sent, by its Telegram id."""

    file_id: str
    content_type: str = "image/jpeg"
    size: int | None = None

    @property
    def filename(self) -> str:
        return f"telegram-photo{IMAGE_TYPES.get(self.content_type, '.jpg')}"


@dataclass
class Draft:
    """What the user has sent so far for one report."""

    url: str | None = None
    texts: list[str] = field(default_factory=list)
    photos: list[PhotoRef] = field(default_factory=list)
    forwarded_from: str | None = None
    country: str | None = None
    notes: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.url or self.texts or self.photos)

    @property
    def text(self) -> str:
        return "\n\n".join(self.texts)

    def add_text(self, text: str) -> None:
        """Keep a message's text; its first link becomes the report's URL if none is set."""
        text = text.strip()
        if not text:
            return
        links = find_links(text)
        if links and self.url is None:
            self.url = links[0]
            if _URL.sub("", text).strip() == "":
                # The message was the link alone: nothing else worth sending as text.
                return
        self.texts.append(text)


def find_links(text: str) -> list[str]:
    """The http(s) links in a message, with a scheme added where the user left it out."""
    links = []
    for match in _URL.finditer(text):
        link = match.group(0).rstrip(_TRAILING)
        if not link.lower().startswith(("http://", "https://")):
            link = "https://" + link
        links.append(link)
    return links


def parse_country(answer: str) -> str | None:
    """An ISO 3166-1 alpha-2 code from a code or a country name ("fr", "France", "Viet Nam")."""
    answer = answer.strip()
    if not answer:
        return None
    if len(answer) == 2:
        country = pycountry.countries.get(alpha_2=answer.upper())
        return country.alpha_2 if country else None
    try:
        return str(pycountry.countries.lookup(answer).alpha_2)
    except LookupError:
        return None


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return f"{country.name} ({code})" if country else code


def report_fields(draft: Draft) -> dict[str, Any]:
    """The JSON report the backend receives. Nothing about the Telegram user is in it.

    The country goes in `seller_location` as an ISO-2 code: the backend reads that as the
    listing's country, its strongest routing signal. `reporter_country` (where the reporter
    is) is not asked for: the less the bot sends about a reporter, the better.
    """
    fields: dict[str, Any] = {"channel": "bot"}
    if draft.url:
        fields["url"] = draft.url
    text = draft.text
    if draft.forwarded_from:
        text = f"[forwarded from {draft.forwarded_from}]\n{text}".strip()
    if text:
        fields["text"] = text
    if draft.country:
        fields["seller_location"] = draft.country
    if draft.notes:
        fields["notes"] = draft.notes
    return fields
