"""Whose case is it? The country of a listing's seller, weighed from small signals, with reasons.

Each signal type (the URL's country-code domain, a single-country platform, the seller's
stated location, a "ships from" phrase, a currency, a phone number, the reporter's country)
is one small class in `SIGNAL_TYPES`. Every signal found votes for a country with its weight;
the country with the largest total wins, and every signal seen is kept as a reason, for it
and against it. Each signal type votes at most once per country.

This module must never guess: with no signal, with only the reporter's own country, or with
a leader that is not clearly ahead of the next country, the country is None and the case
goes to the coordinating unit (a wrong country sends the case to a unit that does not own
it; None only costs a human routing it by hand). A phone number written in national format
("0912 345 678") fits several numbering plans, so it is read only with the countries other
signals already named, and only ever adds to one of them. A place named in passing is the
weakest location evidence; when it is all there is and the price is in a shared currency
its country does not use ("Paris pickup, $900"), it is kept as a reason but counts nothing.

It never touches the network or the database; it reads only its own place data
(`data/places.json`) and the tables of pycountry, babel, phonenumbers and tldextract.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import ahocorasick  # type: ignore[import-untyped]
import ahocorasick_rs
import phonenumbers
import pycountry
from babel import Locale
from babel.numbers import get_territory_currencies

from matching.listing import Listing
from matching.text import Folded, fold, normalise, split_lines
from matching.urls import CanonicalURL, InvalidURL, canonical_url

__all__ = [
    "RULES_VERSION",
    "SIGNAL_TYPES",
    "Evidence",
    "Jurisdiction",
    "PlaceMatch",
    "Signal",
    "SignalType",
    "infer_jurisdiction",
    "locate",
    "weigh",
]

RULES_VERSION = "2025.3"  # bump whenever a weight, a signal type or the place data changes

# --- weights: what each kind of evidence is worth, and why -------------------------------
# The seller's own statement of where the item is: the best a listing tells us.
SELLER_LOCATION_WEIGHT = 3.0
# "Ships from X" in the listing text: also the seller's words, but read out of free prose.
TEXT_LOCATION_WEIGHT = 2.0
# A contact number is usually local to the seller, but SIMs and WhatsApp numbers travel.
PHONE_WEIGHT = 1.5
# A number in national format ("0412 345 678") that is valid in a country another signal
# named: it fits several numbering plans, so it only confirms, worth a country site.
PHONE_NATIONAL_WEIGHT = 1.0
# A national site serves that country's buyers; its sellers are mostly, not always, local.
URL_CCTLD_WEIGHT = 1.0
# Same, for platforms that serve one country from a generic domain (craigslist.org, taobao.com).
PLATFORM_SITE_WEIGHT = 1.0
# A national currency: sellers quote their own, but sometimes their buyers'.
CURRENCY_WEIGHT = 1.0
# A place named in passing: often where the item is, but also what it is ("Madagascar
# tortoise") or where it came from; half a country site's weight.
TEXT_PLACE_WEIGHT = 0.5
# Where the reporter is, not where the seller is: it adds to a country the listing names,
# but alone it names none (reporters report sellers abroad as often as next door).
REPORTER_COUNTRY_WEIGHT = 0.25
# How far the leader must be ahead of the next country when signals conflict: less than a
# place named in passing between them is a coin toss, and a wrong unit is worse than none.
MIN_LEAD = 0.5
# Pseudo-weight for "somewhere we have not seen" in the confidence denominator, so that thin
# evidence reads as thin: a ccTLD alone gives 0.5, the reporter's country alone 0.2, a stated
# seller location alone 0.75; agreeing signals push confidence towards 1.
UNKNOWN_WEIGHT = 1.0

# ccTLDs mostly registered for their letters, not their country. Only a domain registered
# directly under them is ignored; national second levels (com.co, co.tv…) still count.
VANITY_CCTLDS = frozenset(
    {
        "ac", "ai", "am", "bz", "cc", "cf", "co", "dj", "fm", "ga", "gd", "gg", "gq", "im",
        "io", "la", "ly", "md", "me", "ml", "nu", "pw", "sh", "so", "st", "tk", "to", "tv",
        "vc", "ws",
    }
)  # fmt: skip
# Global services on a ccTLD that says nothing about the seller (short links, mostly).
GLOBAL_HOSTS = frozenset({"youtu.be", "goo.gl", "ebay.us", "redd.it", "flic.kr", "amzn.to"})
# Country-code TLDs that are not the country's ISO code.
_CCTLD_COUNTRIES = {"uk": "GB"}
# Internationalised ccTLDs, in their Unicode form (hosts arrive in punycode).
_IDN_CCTLDS = {
    "рф": "RU", "中国": "CN", "中國": "CN", "香港": "HK", "澳門": "MO", "台灣": "TW",
    "台湾": "TW", "ไทย": "TH", "укр": "UA", "срб": "RS", "бг": "BG", "қаз": "KZ", "мкд": "MK",
    "мон": "MN", "бел": "BY", "ελ": "GR", "한국": "KR", "भारत": "IN", "مصر": "EG",
    "السعودية": "SA", "امارات": "AE", "ایران": "IR", "پاکستان": "PK",
}  # fmt: skip
# Platforms serving one country from a host whose TLD does not say which. Full hosts
# (without www./m.) are looked up before registrable domains.
PLATFORM_SITES = {
    "jp.mercari.com": "JP",
    "mercari.com": "US",
    "offerup.com": "US",
    "craigslist.org": "US",  # city subdomains abroad (london., toronto.) are read as places
    "gumtree.com": "GB",
    "taobao.com": "CN",
    "tmall.com": "CN",
    "jd.com": "CN",
    "1688.com": "CN",
    "goofish.com": "CN",
    "pinduoduo.com": "CN",
    "yangkeduo.com": "CN",
    "weidian.com": "CN",
    "tokopedia.com": "ID",
    "bukalapak.com": "ID",
    "coupang.com": "KR",
    "daangn.com": "KR",
    "dubizzle.com": "AE",
    "ouedkniss.com": "DZ",
    "chotot.com": "VN",
    "wallapop.com": "ES",
    "milanuncios.com": "ES",
    "tradera.com": "SE",
}
# Sites whose subdomain is a city, read as a place before falling back to the site's country.
# The subdomain is a place name written without spaces ("hongkong", "mexicocity"); one
# that names a place of several countries gives no signal rather than the site's country.
_CITY_SUBDOMAIN_SITES = frozenset({"craigslist.org"})
# City subdomains that are not place names as written.
_CITY_SUBDOMAINS = {"londonon": "CA", "sfbay": "US", "nyc": "US", "bham": "US"}

# Currencies used by several territories whose "home" is clear: the other users are the
# home country's own dependencies or much smaller neighbours pegged to it.
_HOME_CURRENCIES = {
    "GBP": "GB", "AUD": "AU", "NZD": "NZ", "DKK": "DK", "NOK": "NO", "CHF": "CH",
    "INR": "IN", "ZAR": "ZA", "MAD": "MA",
}  # fmt: skip
# Three-letter codes that are also everyday words or names, so not read from text.
_CODE_WORDS = frozenset({"ALL", "AMD", "BOB", "CUP", "GEL", "MOP", "PEN", "SOS", "TOP"})
# The day whose legal tenders define the currency table (babel's data is historical).
_CURRENCY_DATE = date(2025, 1, 1)
# Symbols and abbreviations that name one country's currency. Omitted on purpose: $, €, ¥
# (CN or JP), 元 (CN, TW, HK), ₨ (PK, LK, NP, MU), kr, R alone, C$ (CA or NI), ₪ (IL, PS).
_CURRENCY_MARKS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), country)
    for pattern, country in (
        (r"(?<![A-Za-z])£", "GB"),
        (r"₫|\d\s?(?:đ|vnđ)(?!\w)", "VN"),
        (r"฿|\d\s?บาท", "TH"),
        (r"₱", "PH"),
        (r"₦", "NG"),
        (r"₹", "IN"),
        (r"₽|\d\s?руб", "RU"),
        (r"₴|\d\s?грн", "UA"),
        (r"₩|\d\s?원", "KR"),
        (r"₺", "TR"),
        (r"₸", "KZ"),
        (r"₲", "PY"),
        (r"₭", "LA"),
        (r"៛", "KH"),
        (r"₮", "MN"),
        (r"₾", "GE"),
        (r"₼", "AZ"),
        (r"֏", "AM"),
        (r"৳", "BD"),
        (r"₡", "CR"),
        (r"\d\s?円", "JP"),
        (r"(?<![A-Za-z])R\$", "BR"),
        (r"(?<![A-Za-z])HK\$", "HK"),
        (r"(?<![A-Za-z])NT\$", "TW"),
        (r"(?<![A-Za-z])S\$", "SG"),
        (r"(?<![A-Za-z])(?:A|AU)\$", "AU"),
        (r"(?<![A-Za-z])NZ\$", "NZ"),
        (r"(?<![A-Za-z])CA\$", "CA"),
        (r"(?<![A-Za-z])MX\$", "MX"),
        (r"(?<![A-Za-z])Rp\.?\s?\d", "ID"),
        (r"(?<![A-Za-z])RM\s?\d", "MY"),
        (r"(?<![A-Za-z])K[Ss]h\.?\s?\d", "KE"),
        (r"\d\s?zł", "PL"),
        (r"\d\s?Kč", "CZ"),
    )
)
# A character each mark above needs, by country: a pattern runs only on a text that holds
# one of its characters (a Vietnamese text holds "đ" in every other word, and would
# otherwise run all of them).
_CURRENCY_MARK_NEEDS: Mapping[str, frozenset[str]] = {
    country: frozenset(chars)
    for country, chars in {
        "GB": "£",
        "VN": "₫đ",
        "TH": "฿บ",
        "PH": "₱",
        "NG": "₦",
        "IN": "₹",
        "RU": "₽р",
        "UA": "₴г",
        "KR": "₩원",
        "TR": "₺",
        "KZ": "₸",
        "PY": "₲",
        "LA": "₭",
        "KH": "៛",
        "MN": "₮",
        "GE": "₾",
        "AZ": "₼",
        "AM": "֏",
        "BD": "৳",
        "CR": "₡",
        "JP": "円",
        "BR": "$",
        "HK": "$",
        "TW": "$",
        "SG": "$",
        "AU": "$",
        "NZ": "$",
        "CA": "$",
        "MX": "$",
        "ID": "R",
        "MY": "R",
        "KE": "K",
        "PL": "ł",
        "CZ": "č",
    }.items()
}
_CURRENCY_MARK_CHARS = frozenset().union(*_CURRENCY_MARK_NEEDS.values())
# Something every currency mark above holds (its symbol, or the letters of "Rp", "RM", "KSh"),
# found in one quick search: most texts hold none, and skip the marks' own searches.
# Written as one character class first, then what must follow an "R" or a "K": the search
# skips to a candidate character at C speed (as "[…]|R[pM]|K[Ss]h", three times slower,
# cannot), and finds one exactly where the alternatives would.
_ANY_CURRENCY_MARK = re.compile(
    "[£₫đ฿บ₱₦₹₽р₴г₩원₺₸₲₭៛₮₾₼֏৳₡円$łčRK](?:(?<![RK])|(?<=R)[pM]|(?<=K)[Ss]h)"
)
# What every currency mark's match holds, more narrowly: a symbol, "Rp", "RM", "KSh", or a
# digit before the letters of a mark written as a word ("5 руб", "500.000đ"). Searched only
# in a text `_ANY_CURRENCY_MARK` found something in: the letters alone are in most words of
# a Russian or Vietnamese text, which would otherwise run the marks' own searches.
_CURRENCY_MARK_LIKE = re.compile(
    r"[£₫฿₱₦₹₽₴₩₺₸₲₭៛₮₾₼֏৳₡$]|R[pM]|K[Ss]h|\d\s?(?:đ|vnđ|บาท|руб|грн|원|円|zł|Kč)"
)
# Prices in a currency many countries share ("$", "€", USD, EUR) name no country, but they
# do say where the seller is not: "$" is a dollar or a peso, never a franc or a baht.
_SHARED_CURRENCY_MARKS = (
    (re.compile(r"(?<![A-Za-z$])\$|(?<![A-Za-z])USD(?![A-Za-z])"), "USD"),
    (re.compile(r"€|(?<![A-Za-z])EUR(?![A-Za-z])"), "EUR"),
)
# Currencies written with a bare "$": dollars and pesos.
_DOLLAR_SIGN_CODES = frozenset(
    {
        "USD", "CAD", "AUD", "NZD", "SGD", "HKD", "TWD", "JMD", "BSD", "BBD", "BZD", "BMD",
        "KYD", "XCD", "FJD", "SBD", "LRD", "NAD", "GYD", "SRD", "TTD", "BND", "MXN", "ARS",
        "CLP", "COP", "CUP", "DOP", "UYU", "KID", "TVD",
    }
)  # fmt: skip
_CURRENCY_CODE_IN_TEXT = re.compile(r"(?<![A-Za-z])([A-Z]{3})\s?\d|\d\s?([A-Z]{3})(?![A-Za-z])")
# The code of every match of `_CURRENCY_CODE_IN_TEXT` is three capitals with no ASCII letter
# either side, a digit right before or after them (or one space away): the pattern, which
# looks behind at every position, is tried only at the two characters before such a word
# and at its start (see `_currency_codes`). Written to start with a character class, so
# that the search skips to a capital at C speed, and with the digit tests as look arounds,
# so that a capital word in prose ("HDR", "COD") costs no Python at all.
_CODE_BY_A_DIGIT = re.compile(
    r"[A-Z](?<![A-Za-z][A-Z])[A-Z]{2}(?![A-Za-z])"
    r"(?:(?<=\d[A-Z]{3})|(?<=\d\s[A-Z]{3})|(?=\s?\d))"
)
_PLUS_SIGN = re.compile("[+\uff0b]")  # phonenumbers' PLUS_CHARS (see `_has_plus_sign`)
_WHATSAPP_LINK = re.compile(r"wa\.me/\+?(\d{7,15})")
_WHATSAPP_HOST = "wa.me/"  # what every `_WHATSAPP_LINK` holds: a text without it has none
# Eight digits or more, single separators allowed: the shortest national mobile numbers.
# Texts without such a run are not handed to the national-format pass.
# The look behind comes after the first digit (the same test: that digit is no run's second),
# so the search skips to digits at C speed instead of trying the pattern at every character.
_PHONE_LIKE = re.compile(r"\d(?<![\d.,]\d)(?:[ ().\-]?\d){7,14}(?![\d.,]?\d)")
# The national-format pass parses once per candidate country; more than this is a conflict
# that no phone number settles, and is not worth the time.
_MAX_PHONE_REGIONS = 3

# Place matching: languages whose babel territory names we read, and how short a name may be.
_PLACE_LANGUAGES = (
    "en", "fr", "es", "pt", "de", "it", "nl", "ru", "pl", "tr", "ar", "zh", "zh_Hant", "ja",
    "ko", "vi", "th", "id", "ms", "sw",
)  # fmt: skip
# Shorter Latin names are words in some other language ("my" is Vietnamese for the USA).
_MIN_LATIN_NAME = 4
_LOCATION_WINDOW = 60  # characters after a "ships from" cue in which the place must start
_WORD = re.compile(r"\w+")
_NON_WORD = re.compile(r"\W+")
# The runs of `_NON_WORD` that are not a single space already: `_squeeze` gives the text
# `_NON_WORD.sub(" ", …)` gives, with a replacement only where one changes something (most
# word gaps are one space; a replacement costs more than the scan). A run is replaced from
# its first character: one that is not a space, or a space with more of the run after it.
# (Starting with a character class lets the search skip word characters at C speed.)
_SQUEEZABLE = re.compile(r"\W(?:(?<! )|(?=\W))\W*")
# Scripts written without spaces between words: names in them are found as substrings.
_SPACELESS = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)
# What may separate the parts of one place phrase ("Hanoi, Viet Nam", "London (Ontario)").
_PLACE_JOINER = re.compile(r"[\s,;/()\-–|.]*")
# What may stand between a location cue and the place ("ships from: the UK", "situé au Canada").
_CUE_TO_PLACE = re.compile(
    r"[\s,:;/()\-–|.]*(?:(?:the|la|le|les|l|el|los|las|der|die|das|dem|den|du|des|de|del|di"
    r"|da|do|dos|em|en|in|im|a|au|aux|at|w|z|v|ve|в|во|из|с)[\s']+)*"
)
# A cue followed by a place we do not know and then one we do ("ships from Chittagong,
# Bangladesh"; "Location: Springfield, Illinois"): up to three words and a comma between.
_CUE_TO_LATER_PLACE = re.compile(_CUE_TO_PLACE.pattern + r"(?:[^\W\d]+[\s'\-]*){1,3},\s*")
# Between two places that are offered as alternatives or as a list ("Hong Kong or Macau",
# "UK and Germany"): each is a location, and more than one country means no clear one.
_PLACE_ALTERNATIVE = re.compile(
    r"[\s,;]+(?:or|and|ou|o|y|e|et|und|oder|of|en|lub|albo|nebo|a|ve|veya|или|и|либо|hoac|va"
    r"|atau|dan|&)[\s,;]+"
)
_KATAKANA = re.compile("[\u30a0-\u30fa\u30fc-\u30ff]")

_COUNTRY, _REGION, _CITY = 0, 1, 2  # place tiers: a country name beats a region, a city


@dataclass(frozen=True, slots=True)
class Signal:
    """One piece of evidence: what was seen, the country it points to, and its weight."""

    signal: str
    value: str
    country: str
    weight: float

    def to_dict(self) -> dict[str, str | float]:
        return {
            "signal": self.signal,
            "value": self.value,
            "country": self.country,
            "weight": self.weight,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signal:
        """A signal as `to_dict` wrote it (e.g. read back from a stored decision)."""
        return cls(
            signal=str(data["signal"]),
            value=str(data["value"]),
            country=str(data["country"]),
            weight=float(data["weight"]),
        )


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """The inferred country (None when unknown or tied) and every signal that was weighed."""

    country: str | None
    confidence: float
    signals: tuple[Signal, ...]


@dataclass(frozen=True, slots=True)
class Evidence:
    """A listing plus what every signal type needs from it, computed once."""

    listing: Listing
    url: CanonicalURL | None
    hostname: str  # full host of the cleaned URL, "" without a usable URL
    # The lines of the title and text, each as written (composed) and folded: place names
    # and location cues are looked up line by line, by more than one signal type.
    # `of` leaves them out (an empty tuple) when one scan of the whole text finds neither a
    # place name nor a location cue: there is nothing in any line for those signal types.
    lines: tuple[tuple[str, Folded], ...] = ()
    # For each line, where each location cue in its folded text ends: found once, read by
    # `TextLocation` (a place right after a cue) and `TextPlace` (lines without a cue).
    cue_ends: tuple[tuple[int, ...], ...] = ()
    # `listing.full_text`, joined once for the signal types that read it (filled in when
    # the evidence is made without it).
    full_text: str = ""
    # The full text, the seller and the seller location, one a line: where `Phone` looks
    # for numbers, in both of its passes (filled in like `full_text`).
    contact_text: str = ""

    def __post_init__(self) -> None:
        if not self.full_text:
            object.__setattr__(self, "full_text", self.listing.full_text)
        if not self.contact_text:
            object.__setattr__(self, "contact_text", _contact_text(self.listing, self.full_text))

    @classmethod
    def of(cls, listing: Listing, folded: Folded | None = None) -> Evidence:
        """The evidence of `listing`; `folded`, if given, is `normalise(listing.full_text)`
        (the species matcher's, so the text is folded once for both)."""
        url: CanonicalURL | None = None
        if listing.url:
            try:
                url = canonical_url(listing.url)
            except InvalidURL:
                url = None
        hostname = (urlsplit(url.url).hostname or "") if url else ""
        full_text = listing.full_text
        contact = _contact_text(listing, full_text)
        composed = _composed(full_text)
        if folded is None or composed != full_text:
            folded = normalise(composed)
        if not _may_name_a_place(folded.text):
            return cls(listing, url, hostname, (), (), full_text, contact)
        lines = tuple(split_lines(composed, folded))
        cue_ends = tuple(_cue_ends(line_fold.text) for _, line_fold in lines)
        return cls(listing, url, hostname, lines, cue_ends, full_text, contact)

    def line_cue_ends(self) -> tuple[tuple[int, ...], ...]:
        """`cue_ends`, found now if the evidence was made without them."""
        if len(self.cue_ends) == len(self.lines):
            return self.cue_ends
        return tuple(_cue_ends(folded.text) for _, folded in self.lines)


def _contact_text(listing: Listing, full_text: str) -> str:
    """`full_text`, the seller and the seller location, one a line (most listings give
    neither of the two: the full text itself, without joining)."""
    if not (listing.seller or listing.seller_location):
        return full_text
    return _joined(full_text, listing.seller, listing.seller_location)


def _may_name_a_place(folded: str) -> bool:
    """False when no line of the text whose fold is `folded` holds a location cue or a
    place name, so `TextLocation` and `TextPlace` find nothing in it: told by one automaton
    pass over the whole squeezed text (`_PlaceScanner`) instead of a search of every line.
    True when a line may, or when the index has no scanner to tell.

    Every line's fold is a piece of `folded` and every line break folds to a space, so a
    cue in a line is, squeezed, in the squeezed whole text, and so is a name that is whole
    words in its line (a line's edges are word gaps in the whole text). `TextPlace` reads
    names as whole words of a line; `TextLocation` reads a name in a window after a cue,
    where it may not be (a window may cut a word), but only where there is a cue.
    """
    scanner = _places().scanner
    return scanner is None or scanner.finds_any(folded)


def _cue_ends(folded: str) -> tuple[int, ...]:
    """Where each location cue in `folded` ends. A text holding no cue's letters anywhere
    (most lines; one automaton pass tells) is spared the cue pattern's slower search."""
    index = _places()
    if index.cue_automaton is not None and next(index.cue_automaton.iter(folded), None) is None:
        return ()
    return tuple(cue.end() for cue in index.cues.finditer(folded))


class SignalType(Protocol):
    """One kind of evidence. `detect` yields its signals; weights are the class's constant.
    `may_find` is False where `detect` would find nothing, told at a glance (an empty field,
    no URL): most listings give only a title and a text, and most types need something
    else, so `infer_jurisdiction` does not start their search at all."""

    name: str
    weight: float

    def may_find(self, evidence: Evidence) -> bool: ...

    def detect(self, evidence: Evidence) -> Iterator[Signal]: ...


@dataclass(frozen=True, slots=True)
class PlaceMatch:
    """A place name found in a text, at [start, end) of the original text."""

    country: str
    tier: int
    start: int
    end: int
    text: str


# --- signal types ------------------------------------------------------------------------


class SellerLocation:
    """The seller location the reporter or the page gave ("Hanoi", "Lyon, France")."""

    name = "seller_location"
    weight = SELLER_LOCATION_WEIGHT

    def may_find(self, evidence: Evidence) -> bool:
        return bool(evidence.listing.seller_location)  # (an empty field names no place)

    def detect(self, evidence: Evidence) -> Iterator[Signal]:
        field = evidence.listing.seller_location.strip()
        if len(field) == 2 and field.isupper() and field in _country_codes():
            yield Signal(self.name, field, field, self.weight)
            return
        for place in locate(field):
            yield Signal(self.name, place.text, place.country, self.weight)


class TextLocation:
    """A place right after a location cue in the listing text ("ships from Thailand")."""

    name = "text_location"
    weight = TEXT_LOCATION_WEIGHT

    def may_find(self, evidence: Evidence) -> bool:
        return bool(evidence.lines)

    def detect(self, evidence: Evidence) -> Iterator[Signal]:
        if not evidence.lines:
            return
        for (line, folded), ends in zip(evidence.lines, evidence.line_cue_ends(), strict=True):
            for cue_end in ends:
                window_end = min(len(folded.text), cue_end + _LOCATION_WINDOW)
                for place in _locate_folded(line, folded, cue_end, window_end, anchored=True):
                    yield Signal(self.name, place.text, place.country, self.weight)


class TextPlace:
    """A place named in passing in the listing text, with no cue before it ("Torino, ritiro
    a mano"): weaker than any site, phone or currency, stronger than the reporter's own
    country. Lines with a location cue are left to `TextLocation`; a place written as part
    of a longer name ("Madagascar radiated tortoise", "Java sparrow") is not a location, so
    in scripts written with spaces a place must end its phrase: end of line, punctuation or
    a number next.
    """

    name = "text_place"
    weight = TEXT_PLACE_WEIGHT

    def may_find(self, evidence: Evidence) -> bool:
        return bool(evidence.lines)

    def detect(self, evidence: Evidence) -> Iterator[Signal]:
        if not evidence.lines:
            return
        for (line, folded), ends in zip(evidence.lines, evidence.line_cue_ends(), strict=True):
            if ends:
                continue
            places = _locate_folded(line, folded, 0, len(folded.text), anchored=False)
            # The phrase as a whole must end ("London or Paris."), and one everyday word in
            # it ("China or Japan") leaves all of it in doubt.
            if not places or not _ends_phrase(line, max(place.end for place in places)):
                continue
            if any(_is_common_word(place.text) for place in places):
                continue
            for place in places:
                yield Signal(self.name, place.text, place.country, self.weight)


# Words that may follow a place named in passing without making it part of a longer name:
# they say the place is where the seller is ("Adelaide pickup", "London area only").
# Not "only": "ships to UK only" names the buyers' country.
_AFTER_PLACE = frozenset(
    {"pickup", "pick", "area", "based", "local", "collection", "meetup", "cod"}
)


def _ends_phrase(line: str, end: int) -> bool:
    """No word follows the place directly, or only a word that says "here" ("Adelaide
    pickup"); scripts without spaces always qualify.
    """
    last = ord(line[end - 1]) if end else 0
    if 0x0E00 <= last < 0x0E80 or last >= 0x2E80:  # Thai, CJK: no spaces between words
        return True
    rest = line[end:].lstrip(" ")
    if not rest or not rest[0].isalpha():
        return True
    word = _WORD.match(rest)
    return word is not None and word.group().lower() in _AFTER_PLACE


def _is_common_word(name: str) -> bool:
    """A place name that is also an everyday word ("Turkey", "Island", "Jordan"): it names
    a place only where the seller says it is, never in passing."""
    return _name_key(name) in _places().common_words


class UrlCountryDomain:
    """The listing URL's country-code TLD (ebay.co.uk → GB), vanity uses excepted."""

    name = "url_cctld"
    weight = URL_CCTLD_WEIGHT

    def may_find(self, evidence: Evidence) -> bool:
        return evidence.url is not None

    def detect(self, evidence: Evidence) -> Iterator[Signal]:
        url = evidence.url
        if url is None or not url.suffix or url.host in GLOBAL_HOSTS:
            return
        labels = url.suffix.split(".")
        tld = labels[-1]
        if tld in VANITY_CCTLDS and len(labels) == 1:
            return
        country = _CCTLD_COUNTRIES.get(tld) or _idn_cctlds().get(tld) or tld.upper()
        if country in _country_codes():
            yield Signal(self.name, evidence.hostname, country, self.weight)


class PlatformSite:
    """A platform that serves one country from a generic domain (craigslist.org → US)."""

    name = "platform_site"
    weight = PLATFORM_SITE_WEIGHT

    def may_find(self, evidence: Evidence) -> bool:
        return evidence.url is not None

    def detect(self, evidence: Evidence) -> Iterator[Signal]:
        url = evidence.url
        if url is None:
            return
        country = PLATFORM_SITES.get(evidence.hostname) or PLATFORM_SITES.get(url.host)
        if country is None:
            return
        if url.host in _CITY_SUBDOMAIN_SITES and evidence.hostname != url.host:
            subdomain = evidence.hostname.removesuffix("." + url.host).split(".")[-1]
            if subdomain in _CITY_SUBDOMAINS:
                country = _CITY_SUBDOMAINS[subdomain]
            elif subdomain in _places().unspaced:
                city = _places().unspaced[subdomain]
                if city is None:
                    return  # a name several countries share: not the site's country either
                country = city
        yield Signal(self.name, evidence.hostname, country, self.weight)


class Currency:
    """A currency that belongs to one country, from the currency field or the text."""

    name = "currency"
    weight = CURRENCY_WEIGHT

    def may_find(self, evidence: Evidence) -> bool:
        return True  # (prices are in the text: telling costs what searching costs)

    def detect(self, evidence: Evidence) -> Iterator[Signal]:
        listing = evidence.listing
        given = listing.currency.strip()
        if given:
            code = given.upper()
            if len(code) == 3 and code.isalpha():
                if country := _currency_countries().get(code):
                    yield Signal(self.name, code, country, self.weight)
            else:
                yield from self._marks(given)
        text = _joined(listing.price, evidence.full_text) if listing.price else evidence.full_text
        if _may_hold_a_mark(text):
            yield from self._marks(text)
        for match in _currency_codes(text):
            if signal := _currency_code_signal(match.group(1) or match.group(2)):
                yield signal

    def zones(self, evidence: Evidence) -> list[frozenset[str]]:
        """The countries each shared currency quoted in the listing could be from ("$" →
        the dollar and peso countries); empty when none is quoted."""
        listing = evidence.listing
        text = _joined(listing.currency, listing.price, evidence.full_text)
        zones = []
        for pattern, code in _SHARED_CURRENCY_MARKS:
            if match := pattern.search(text):
                codes = _DOLLAR_SIGN_CODES if match.group() == "$" else frozenset({code})
                zones.append(_currency_users(codes))
        return zones

    def _marks(self, text: str) -> Iterator[Signal]:
        if not _may_hold_a_mark(text):
            return  # most texts: one search or two instead of one per mark
        present = _CURRENCY_MARK_CHARS.intersection(text)
        for pattern, country in _CURRENCY_MARKS:
            if present.isdisjoint(_CURRENCY_MARK_NEEDS[country]):
                continue  # the pattern needs a character the text does not hold
            if match := pattern.search(text):
                yield Signal(self.name, match.group(0).strip(), country, self.weight)


@lru_cache(maxsize=1024)  # (about 180 currency codes, and few other capital words by a digit)
def _currency_code_signal(code: str) -> Signal | None:
    """The signal of a currency code read from the text ("500 VND"); None for a code that
    is also a word (`_CODE_WORDS`) or that names no one country. (Signals are immutable:
    one per code serves every listing.)"""
    if code in _CODE_WORDS:
        return None
    if country := _currency_countries().get(code):
        return Signal(Currency.name, code, country, Currency.weight)
    return None


def _may_hold_a_mark(text: str) -> bool:
    """False when `text` holds none of the currency marks: one search or two (see
    `_ANY_CURRENCY_MARK`, `_CURRENCY_MARK_LIKE`)."""
    return bool(_ANY_CURRENCY_MARK.search(text)) and bool(_CURRENCY_MARK_LIKE.search(text))


def _joined(*parts: str) -> str:
    """The parts given (not empty), one a line."""
    return "\n".join([part for part in parts if part])


def _has_plus_sign(text: str) -> bool:
    """`_PLUS_SIGN.search(text)`, as two substring tests (several times faster)."""
    return "+" in text or "\uff0b" in text


def _currency_codes(text: str) -> list[re.Match[str]]:
    """The matches of `_CURRENCY_CODE_IN_TEXT.finditer(text)`, tried only where a code may
    start: at the two characters before a three-capital word by a digit, and at the word.

    The code of a match is such a word (`_CODE_BY_A_DIGIT`), and the match starts at the
    digit before it, one space away or right before ("5 USD", "5USD"), or at the word
    ("USD 5"). The search of the whole text finds, after each match, the first match that
    starts at or after its end: trying the words in order, and at each its positions in
    order from the last match's end on, finds the same (words are apart: no position
    belongs to two; the look behind still sees before the position, the look ahead after).
    """
    matches: list[re.Match[str]] = []
    done = 0
    for word in _CODE_BY_A_DIGIT.finditer(text):
        start = word.start()
        for position in range(max(done, start - 2), start + 1):
            if match := _CURRENCY_CODE_IN_TEXT.match(text, position):
                matches.append(match)
                done = match.end()
                break
    return matches


class Phone:
    """Phone numbers: international ones ("+84 912 345 678", wa.me links) name their country;
    national ones ("0912 345 678") only confirm a country that other signals named.
    """

    name = "phone"
    weight = PHONE_WEIGHT

    def may_find(self, evidence: Evidence) -> bool:
        """Whether the text holds a plus sign or a WhatsApp link: with no default region
        only numbers written with a plus sign parse, and a link holds its host."""
        text = evidence.contact_text
        return _has_plus_sign(text) or _WHATSAPP_HOST in text

    def detect(self, evidence: Evidence) -> Iterator[Signal]:
        text = evidence.contact_text
        if not text:
            return
        # With no default region only numbers written with a plus sign parse, so a text
        # without one is not handed to the (slow) matcher at all.
        numbers = (
            [
                match.number
                for match in phonenumbers.PhoneNumberMatcher(
                    text, None, leniency=phonenumbers.Leniency.VALID
                )
            ]
            if _has_plus_sign(text)
            else []
        )
        links = _WHATSAPP_LINK.finditer(text) if _WHATSAPP_HOST in text else ()
        for link in links:
            try:
                number = phonenumbers.parse("+" + link.group(1), None)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                numbers.append(number)
        for number in numbers:
            country = phonenumbers.region_code_for_number(number)
            if country in _country_codes():
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                yield Signal(self.name, e164, country, self.weight)

    def resolve(self, evidence: Evidence, countries: frozenset[str]) -> list[Signal]:
        """National-format numbers valid in one of `countries` (named by other signals), as
        a list (most listings have none: no generator to start).

        A number is parsed with each candidate as its home region and counts only for that
        region, so it can never name a country by itself; numbers written with a "+" or an
        international prefix are the international pass's, not this one's. Cheap by design:
        nothing runs without a candidate country and a digit run as long as a phone number.
        """
        found: list[Signal] = []
        if not countries or len(countries) > _MAX_PHONE_REGIONS:
            return found
        text = evidence.contact_text
        if not _PHONE_LIKE.search(text):
            return found  # most texts: one search, no list of runs
        runs = [
            run.group()
            for run in _PHONE_LIKE.finditer(text)
            if not _PLUS_SIGN.match(run.string, max(run.start() - 1, 0))
        ]
        if not runs:
            return found
        # Each run of digits is parsed as it stands (not with the full text matcher, three
        # times slower): a number that is valid where the candidate says it is counts.
        for region in sorted(countries):
            for run in runs:
                try:
                    number = phonenumbers.parse(run, region)
                except phonenumbers.NumberParseException:
                    continue
                if (
                    phonenumbers.region_code_for_number(number) == region  # not "0049…"
                    and phonenumbers.is_valid_number(number)
                ):
                    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                    found.append(Signal(self.name, e164, region, PHONE_NATIONAL_WEIGHT))
                    break
        return found


class ReporterCountry:
    """The country the reporter declared: where the report came from, the weakest hint."""

    name = "reporter_country"
    weight = REPORTER_COUNTRY_WEIGHT

    def may_find(self, evidence: Evidence) -> bool:
        return bool(evidence.listing.reporter_country)

    def detect(self, evidence: Evidence) -> Iterator[Signal]:
        country = evidence.listing.reporter_country.strip().upper()
        if country in _country_codes():
            yield Signal(self.name, country, country, self.weight)


_PHONE = Phone()
_CURRENCY = Currency()
_REPORTER_COUNTRY = ReporterCountry.name
SIGNAL_TYPES: tuple[SignalType, ...] = (
    SellerLocation(),
    TextLocation(),
    TextPlace(),
    UrlCountryDomain(),
    PlatformSite(),
    _CURRENCY,
    _PHONE,
    ReporterCountry(),
)


def _check_registry(types: tuple[SignalType, ...]) -> None:
    names = [signal_type.name for signal_type in types]
    if len(names) != len(set(names)):
        raise RuntimeError(f"signal type names must be unique: {names}")


_check_registry(SIGNAL_TYPES)


def infer_jurisdiction(listing: Listing, folded: Folded | None = None) -> Jurisdiction:
    """Weigh every signal in `listing` and name the country whose case it is, if any.

    Signals are read in two passes: first every signal type on its own, then the national
    phone numbers, read only as numbers of a country the first pass named (the reporter's
    own country excepted, which names no country by itself). `folded`, if given, must be
    `matching.text.normalise(listing.full_text)`: the analysis folds the text once.
    """
    evidence = Evidence.of(listing, folded)
    signals = _detect(evidence)
    if signals:  # (with none, no country is named: the phone pass has nothing to confirm)
        named = frozenset(
            [signal.country for signal in signals if signal.signal != _REPORTER_COUNTRY]
        )
        signals += _PHONE.resolve(evidence, named)
    result = weigh(signals)
    if result.country and _only_in_passing(result):
        zones = _CURRENCY.zones(evidence)
        doubtful = {
            signal.country
            for signal in signals
            if signal.signal == TextPlace.name and any(signal.country not in z for z in zones)
        }
        if doubtful:
            # Kept as reasons, counted as nothing: weighed again with a later report's
            # signals (`weigh` on a whole case), the doubt still holds.
            signals = [
                replace(signal, weight=0.0)
                if signal.signal == TextPlace.name and signal.country in doubtful
                else signal
                for signal in signals
            ]
            result = weigh(signals)
    return result


def _detect(evidence: Evidence) -> list[Signal]:
    """The signals of the first pass: each signal type's, in `SIGNAL_TYPES` order, those
    whose `may_find` says they find nothing left out (no search started, no generator)."""
    signals: list[Signal] = []
    for kind in SIGNAL_TYPES:
        if kind.may_find(evidence):
            signals += kind.detect(evidence)
    return signals


_IN_PASSING = frozenset({TextPlace.name, ReporterCountry.name})


def _only_in_passing(result: Jurisdiction) -> bool:
    """The country rests on a place named in passing alone (besides the reporter's own
    country): the weakest location evidence there is, which a price in a shared currency
    that country does not use ("Paris pickup, $900": Paris, Texas?) is enough to doubt.
    """
    for signal in result.signals:
        if signal.country == result.country and signal.signal not in _IN_PASSING:
            return False
    return True


def weigh(signals: Iterable[Signal]) -> Jurisdiction:
    """The country that `signals` point to, with confidence; None when it is not clear.

    Each signal type votes once per country, however often it was seen: ten reports made
    from eBay's German site are no more German than one. This is also how the signals of
    several reports of one case are combined. None when nothing but the reporter's own
    country points to the leader, or when the leader is less than `MIN_LEAD` ahead of the
    next country: weak signals outvoting each other are a guess, and a guess that goes to
    the wrong unit is worse than one the coordinating unit routes by hand.
    """
    if isinstance(signals, list | tuple) and len(signals) < 2:
        return _weigh_alone(signals)
    kept: list[Signal] = []
    seen: set[tuple[str, str]] = set()
    totals: dict[str, float] = {}
    # Countries the listing itself points to; the reporter's own country only adds to them.
    backed: set[str] = set()
    for signal in signals:
        key = (signal.signal, signal.country)
        if key in seen:
            continue
        seen.add(key)
        kept.append(signal)
        totals[signal.country] = totals.get(signal.country, 0.0) + signal.weight
        if signal.signal != _REPORTER_COUNTRY:
            backed.add(signal.country)
    if not totals:
        return Jurisdiction(None, 0.0, ())
    ranked = sorted(
        [(total, country) for country, total in totals.items() if country in backed],
        reverse=True,
    )
    if not ranked:
        return Jurisdiction(None, 0.0, tuple(kept))
    best, leader = ranked[0]
    runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
    if best - runner_up < MIN_LEAD:  # weak signals outvoting each other: a guess
        return Jurisdiction(None, 0.0, tuple(kept))
    confidence = round(best / (sum(totals.values()) + UNKNOWN_WEIGHT), 3)
    return Jurisdiction(leader, confidence, tuple(kept))


_NO_SIGNAL = Jurisdiction(None, 0.0, ())


def _weigh_alone(signals: list[Signal] | tuple[Signal, ...]) -> Jurisdiction:
    """`weigh` of no signal or of one (most listings), without the tallies: one signal is
    its country's total and the whole sum, and there is no runner-up (its lead is its
    total, compared with `MIN_LEAD` as `weigh` compares a lead)."""
    if not signals:
        return _NO_SIGNAL
    signal = signals[0]
    kept = (signal,)
    total = 0.0 + signal.weight  # (as `weigh` adds it up: a float, -0.0 made 0.0)
    if signal.signal == _REPORTER_COUNTRY or total < MIN_LEAD:
        return Jurisdiction(None, 0.0, kept)
    return Jurisdiction(signal.country, _confidence_alone(total), kept)


@lru_cache(maxsize=64)  # one entry per signal weight: a handful of constants
def _confidence_alone(total: float) -> float:
    """`weigh`'s confidence where one signal is all the evidence (`round` is slow)."""
    return round(total / (total + UNKNOWN_WEIGHT), 3)


# --- places ------------------------------------------------------------------------------


def locate(text: str) -> tuple[PlaceMatch, ...]:
    """The place named first in `text`, at its most precise tier.

    A place phrase is consecutive place names joined only by commas, spaces and the like
    ("Lyon, France"; "London, Ontario"): the country names in it win over regions, regions
    over cities. Returns one match per country, or () when no place is named.
    """
    if not text:
        return ()
    text = _composed(text)
    folded = normalise(text)
    return _locate_folded(text, folded, 0, len(folded.text), anchored=False)


def _composed(text: str) -> str:
    # `normalise` folds character by character, so a decomposed accent ("a" + U+0300, as some
    # keyboards type Vietnamese) would become a space; composing first keeps "Hà Nội" whole.
    return unicodedata.normalize("NFC", text)


def _locate_folded(
    text: str, folded: Folded, start: int, end: int, *, anchored: bool
) -> tuple[PlaceMatch, ...]:
    """Place phrase within folded[start:end]; `anchored`: it must be the first words there."""
    matches = [
        match
        for match in _find_names(folded.text, start, end)
        if not _inside_katakana_word(folded.text, match[0], match[1])
    ]
    if not matches:
        return ()
    first = matches[0]
    if anchored and not (
        _CUE_TO_PLACE.fullmatch(folded.text, start, first[0])
        or _CUE_TO_LATER_PLACE.fullmatch(folded.text, start, first[0])
    ):
        return ()
    # A phrase is one or more alternatives ("Hanoi, Vietnam or Bangkok"), each a run of
    # names joined by commas and spaces, read at its own most precise tier.
    alternatives = [[first]]
    for match in matches[1:]:
        gap_start = alternatives[-1][-1][1]
        if _PLACE_JOINER.fullmatch(folded.text, gap_start, match[0]):
            alternatives[-1].append(match)
        elif _PLACE_ALTERNATIVE.fullmatch(folded.text, gap_start, match[0]):
            alternatives.append([match])
        else:
            break
    common = _places().common_words
    found: dict[str, PlaceMatch] = {}
    for phrase in alternatives:
        # A name that is also a word, next to a name that is not, is the word ("Hong Kong
        # Island" is not Iceland's "Island"); it names a place only on its own.
        plain = [m for m in phrase if _squeeze(folded.text[m[0] : m[1]]) not in common]
        phrase = plain or phrase
        tier = min(match[3] for match in phrase)
        for match_start, match_end, country, match_tier in phrase:
            if match_tier == tier and country not in found:
                orig_start, orig_end = folded.span(match_start, match_end)
                found[country] = PlaceMatch(
                    country, tier, orig_start, orig_end, text[orig_start:orig_end]
                )
    return tuple(found.values())


def _inside_katakana_word(folded: str, start: int, end: int) -> bool:
    """A katakana name inside a longer katakana word ("タイ" in "タイマイ", hawksbill; in
    "ネクタイ", necktie): loanwords are written in katakana without spaces, so a name there
    is part of another word, not a place.
    """
    if not _KATAKANA.fullmatch(folded, start, start + 1):
        return False
    return bool(
        (start > 0 and _KATAKANA.match(folded, start - 1))
        or (end < len(folded) and _KATAKANA.match(folded, end))
    )


def _find_names(folded: str, start: int, end: int) -> list[tuple[int, int, str, int]]:
    """Non-overlapping (start, end, country, tier) of place names in folded[start:end].

    Names in scripts with word spaces are whole words: they are looked up in the text with
    every run of non-word characters squeezed to one space ("ciudad  de-mexico" reads as
    "ciudad de mexico"), so a name of several words matches however its words are
    separated. Names in scripts without spaces are substrings that start on a character of
    such a script. Where names overlap, the one starting first wins, then the longest.
    Both lookups are one pass of an Aho-Corasick automaton, not a loop over names.
    """
    index = _places()
    found: list[tuple[int, int, str, int]] = []
    squeezed = _squeeze(folded[start:end])
    hits = [
        (last - len(key) + 1, last + 1, value)
        for last, (key, value) in index.word_automaton.iter(squeezed)
        if (last + 1 == len(squeezed) or squeezed[last + 1] == " ")
        and (last + 1 == len(key) or squeezed[last - len(key)] == " ")
    ]
    if hits:
        # Squeezed text: word k starts after the k-th space (one more if it leads with one).
        tokens = [match.span() for match in _WORD.finditer(folded, start, end)]
        lead = 1 if squeezed.startswith(" ") else 0
        for first, stop, (country, tier) in hits:
            word = squeezed.count(" ", 0, first) - lead
            words = squeezed.count(" ", first, stop)
            found.append((tokens[word][0], tokens[word + words][1], country, tier))
    if index.spaceless_automaton is not None and _SPACELESS.search(folded, start, end):
        for last, (key, value) in index.spaceless_automaton.iter(folded, start, end):
            found.append((last - len(key) + 1, last + 1, *value))
    found.sort(key=lambda match: (match[0], -match[1]))
    kept: list[tuple[int, int, str, int]] = []
    for match in found:
        if not kept or match[0] >= kept[-1][1]:
            kept.append(match)
    return kept


def _squeeze(text: str) -> str:
    """`text` with every run of non-word characters made one space ("ciudad  de-mexico" →
    "ciudad de mexico"), as the word automaton's keys are written."""
    return _SQUEEZABLE.sub(" ", text)


# ASCII characters that are not word characters (`\W`), as spaces; the others unchanged.
_ASCII_NON_WORD_TO_SPACE = bytes(
    code if re.fullmatch(r"\w", chr(code)) else ord(" ") for code in range(128)
) + bytes(range(128, 256))


# Non-ASCII characters that are not word characters ("—", "、", a lone surrogate).
_NON_ASCII_NON_WORD = re.compile(r"[^\x00-\x7f\w]")


def _squeeze_utf8(text: str) -> bytes:
    """`f" {_squeeze(text)} "` in UTF-8, with one space at either end even where the text
    starts or ends with a non-word character (no key holds two spaces in a row, so the keys
    found in it are the same). A few C calls instead of a regex substitution that stops at
    every space: the few non-ASCII non-word characters made spaces (one search), encode,
    ASCII non-word characters to spaces, split at spaces, join by one. (The bytes of a
    non-ASCII character are all above 127: the table leaves them alone, and `split` cuts
    only at ASCII spaces. Lone surrogates, which UTF-8 cannot encode, are non-word
    characters: made spaces before encoding.)
    """
    if not text.isascii():
        text = _NON_ASCII_NON_WORD.sub(" ", text)
    return b" %s " % b" ".join(text.encode().translate(_ASCII_NON_WORD_TO_SPACE).split())


class _PlaceScanner:
    """Tells at once, for a whole text, whether it may hold a place name or a location cue.

    One Aho-Corasick automaton (`ahocorasick_rs`, several times faster than the automata
    of the index) of every word name with a space either side, every name in a script
    without spaces and every cue, each squeezed as `_squeeze` does: searched in the
    squeezed text with a space either side, it finds each of them that the line by line
    search could find (a word name only as whole words), and some more (a cue inside a
    word, a name split over two lines), which only cost the line by line search.
    It searches UTF-8 (a key is in a text exactly where its UTF-8 is in the text's), so a
    text is squeezed as bytes, twice as fast (`_squeeze_utf8`).
    Pickled as its keys: the automaton is built again (in a few milliseconds) when an
    index is read from a cache.
    """

    __slots__ = ("_automaton", "keys")

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        self._automaton = ahocorasick_rs.BytesAhoCorasick([key.encode() for key in keys])

    def __reduce__(self) -> tuple[type[_PlaceScanner], tuple[tuple[str, ...]]]:
        return (_PlaceScanner, (self.keys,))

    def finds_any(self, folded: str) -> bool:
        """Whether one of the keys is in `folded`, squeezed, with a space either side.
        (Squeezed, a text holds only word characters and spaces: no lone surrogate, which
        UTF-8 cannot encode.)"""
        return bool(self._automaton.find_matches_as_indexes(_squeeze_utf8(folded)))

    @classmethod
    def of(
        cls, words: Iterable[str], spaceless: Iterable[str], cues: Iterable[str]
    ) -> _PlaceScanner | None:
        """The scanner of these name keys and cues; None when a key squeezes to nothing
        (an empty cue matches everywhere, and an automaton holds no empty string)."""
        keys = [_squeeze(f" {key} ") for key in words]
        keys += (_squeeze(key) for key in (*spaceless, *cues))
        if not all(keys):
            return None
        return cls(tuple(sorted(set(keys))))


@dataclass(frozen=True, slots=True)
class _PlaceIndex:
    # Values are (key, (country, tier)): "united kingdom" → ("GB", tier), "越南" → ("VN", tier).
    word_automaton: Any
    spaceless_automaton: Any  # None when no name is in a script without spaces
    cues: re.Pattern[str]
    # Every cue as a plain string: a match of `cues` is one of them, so a text in which
    # this automaton finds none has no cue. None when it cannot tell (an empty cue).
    cue_automaton: Any
    # Keys of names that are also everyday words: read where a seller states a location,
    # not in passing.
    common_words: frozenset[str]
    # Latin names with their spaces taken out ("hongkong"), as city subdomains write them;
    # None for a name several countries share.
    unspaced: Mapping[str, str | None]
    # Tells a text that holds no name and no cue in one pass (`_may_name_a_place`); None
    # when it cannot tell, and every text is searched line by line.
    scanner: _PlaceScanner | None = None


def _name_key(name: str) -> str:
    folded = fold(name)
    if _SPACELESS.search(folded):
        # As folded, spaces included: `fold` turns a lone combining mark (Thai vowel signs)
        # into a space, and the text is folded the same way.
        return folded.strip()
    return " ".join(_WORD.findall(folded))


def _name_variants(name: str) -> set[str]:
    """A name plus its short forms: without "(…)", before ", ", and "B A" for "A, B"."""
    variants = {name}
    bare = re.sub(r"\s*\(([^)]*)\)", "", name).strip()
    variants.add(bare)
    variants.update(re.findall(r"\(([^)]*)\)", name))
    if ", " in bare:
        head, tail = bare.split(", ", 1)
        variants.update({head, f"{tail} {head}"})
    return {variant for variant in variants if variant}


# A place index read from a cache (`install_place_index`), used instead of building one.
_INSTALLED_PLACES: list[_PlaceIndex] = []


@cache
def _places() -> _PlaceIndex:
    if _INSTALLED_PLACES:
        return _INSTALLED_PLACES[-1]
    return _build_places()


def place_index() -> object:
    """The place index, built on first use (a second or so: every country name in twenty
    languages); opaque, for a caller to cache (pickled) and give back to
    `install_place_index` in a later process."""
    return _places()


def place_index_built() -> bool:
    """Whether this process has its place index (built or installed) in memory."""
    return _places.cache_info().currsize > 0


@cache
def place_index_fingerprint() -> str:
    """SHA-256 of everything the place index is built from: this module and the folding
    (`matching.text`), `data/places.json`, and the versions of Python and of the libraries
    whose tables it reads. A cached index is good only for the same fingerprint."""
    digest = hashlib.sha256(sys.version.encode())
    for package in ("pycountry", "babel", "pyahocorasick"):
        digest.update(f"|{package}={metadata.version(package)}".encode())
    for path in (
        Path(__file__),
        Path(__file__).parent / "text.py",
        Path(__file__).parent / "data" / "places.json",
    ):
        digest.update(b"\0" + path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def install_place_index(index: object) -> bool:
    """Use `index` (a `place_index()` of a process with the same `place_index_fingerprint`,
    as cached by the caller) instead of building one; False, and nothing changes, if it is
    not a place index."""
    if not isinstance(index, _PlaceIndex):
        return False
    _INSTALLED_PLACES[:] = [index]
    _places.cache_clear()
    return True


def _build_places() -> _PlaceIndex:
    data = json.loads((Path(__file__).parent / "data" / "places.json").read_text("utf-8"))
    codes = _country_codes()
    entries: dict[str, tuple[str, int]] = {}
    conflicting: set[str] = set()

    def add(name: str, country: str, tier: int, *, curated: bool) -> None:
        key = _name_key(name)
        if not key:
            return
        if not curated:
            letters = key.replace(" ", "")
            spaceless = bool(_SPACELESS.search(key))
            if not spaceless and len(letters) < (_MIN_LATIN_NAME if key.isascii() else 3):
                return
        if key in conflicting:
            return
        if key in entries and entries[key][0] != country:
            conflicting.add(key)
            del entries[key]
            return
        if key not in entries or tier < entries[key][1]:
            entries[key] = (country, tier)

    for country in pycountry.countries:
        for attribute in ("name", "common_name", "official_name"):
            if name := getattr(country, attribute, None):
                for variant in _name_variants(name):
                    add(variant, country.alpha_2, _COUNTRY, curated=False)
    for language in _PLACE_LANGUAGES:
        for code, name in Locale.parse(language).territories.items():
            if code in codes:
                for variant in _name_variants(name):
                    add(variant, code, _COUNTRY, curated=False)
    for tier, section in ((_REGION, "regions"), (_CITY, "cities")):
        for country, names in data[section].items():
            for name in names:
                add(name, country, tier, curated=True)
    # Curated aliases settle what the generated names left ambiguous ("Korea" → KR).
    for country, names in data["aliases"].items():
        for name in names:
            key = _name_key(name)
            conflicting.discard(key)
            entries[key] = (country, _COUNTRY)
    # Case forms of a name (Polish "Warszawie", Czech "Praze") are that name, at its tier.
    for name, forms in data["forms"].items():
        if (base := entries.get(_name_key(name))) is not None:
            for form in forms:
                add(form, base[0], base[1], curated=True)
    for key, (country, tier) in list(entries.items()):
        for form in _russian_forms(key):
            if form not in entries and form not in conflicting:
                add(form, country, tier, curated=True)
    ambiguous = {_name_key(name) for name in data["ambiguous"]}
    for key in ambiguous:
        entries.pop(key, None)

    words = {key: value for key, value in entries.items() if not _SPACELESS.search(key)}
    # A name in a script without spaces is only looked for where such a script starts it.
    spaceless = {
        key: value for key, value in entries.items() if key not in words and _SPACELESS.match(key)
    }
    cue_patterns = sorted((fold(cue) for cue in data["location_cues"]), key=len, reverse=True)
    # Longest cue first. Cues in a script with word spaces must start a word; the lookbehind
    # is written once for all of them rather than per alternative, which lets the regex engine
    # skip positions quickly (an order of magnitude faster). The match is the same: a cue's
    # first character decides its group, so at any position only one group can match, and
    # within each group the longest-first order is kept.
    spaced = [re.escape(cue) for cue in cue_patterns if not _SPACELESS.match(cue)]
    unspaced = [re.escape(cue) for cue in cue_patterns if _SPACELESS.match(cue)]
    alternatives = []
    if spaced:
        alternatives.append(r"(?<!\w)(?:" + "|".join(spaced) + ")")
    alternatives += unspaced
    cues = re.compile("|".join(alternatives))
    unspaced: dict[str, str | None] = {}
    for key in words.keys() | conflicting | ambiguous:
        if key.isascii():
            joined = key.replace(" ", "")
            country = words[key][0] if key in words else None
            if joined in unspaced and unspaced[joined] != country:
                country = None
            unspaced[joined] = country
    return _PlaceIndex(
        word_automaton=_automaton(words),
        spaceless_automaton=_automaton(spaceless) if spaceless else None,
        cues=cues,
        # (An empty cue would match everywhere, and an automaton holds no empty string.)
        cue_automaton=_strings_automaton(cue_patterns) if all(cue_patterns) else None,
        common_words=frozenset(_name_key(name) for name in data["common_words"]),
        unspaced=unspaced,
        scanner=_PlaceScanner.of(words, spaceless, cue_patterns),
    )


# Regular Russian case endings by a name's last letter (folded: "й" reads as "и"): what
# follows "из", "в", "по" ("из России", "в Москве", "по Казани"). Only names of five
# letters or more: shorter ones inflect into everyday words ("Куба" → "кубы", cubes).
_RUSSIAN_ENDINGS = (
    ("ия", "ия", ("ии", "ию", "ией")),
    ("я", "я", ("и", "е", "ю", "ей")),
    ("ка", "а", ("и", "е", "у", "ой")),
    ("га", "а", ("и", "е", "у", "ой")),
    ("ха", "а", ("и", "е", "у", "ой")),
    ("а", "а", ("ы", "е", "у", "ой")),
    ("ь", "ь", ("и", "я", "ю", "ью")),
    ("и", "и", ("я", "е", "ю", "ем")),  # "китаи" (Китай)
)
_RUSSIAN_CONSONANT = re.compile("[бвгджзклмнпрстфхцчшщ]$")
_CYRILLIC_WORD = re.compile("[а-яё]{5,}$")


def _russian_forms(key: str) -> list[str]:
    """Case forms of a Cyrillic place name key, the last word inflected ("москва" →
    "москве", "москвы"…; "санкт петербург" → "санкт петербурге"…). Names in -и other than
    -ай/-ей words are not declined (Мали, Чили), so "и" is only read as a folded "й".
    """
    head, _, last = key.rpartition(" ")
    if not _CYRILLIC_WORD.match(last):
        return []
    prefix = f"{head} " if head else ""
    if _RUSSIAN_CONSONANT.search(last):
        return [prefix + last + ending for ending in ("а", "е", "у", "ом")]
    for suffix, drop, endings in _RUSSIAN_ENDINGS:
        if last.endswith(suffix):
            if drop == "и" and not last.endswith(("аи", "еи")):
                return []
            stem = last[: -len(drop)]
            return [prefix + stem + ending for ending in endings]
    return []


def _strings_automaton(strings: Iterable[str]) -> Any:
    automaton = ahocorasick.Automaton()
    for string in strings:
        automaton.add_word(string, string)
    automaton.make_automaton()
    return automaton


def _automaton(names: Mapping[str, tuple[str, int]]) -> Any:
    automaton = ahocorasick.Automaton()
    for key, value in names.items():
        automaton.add_word(key, (key, value))
    automaton.make_automaton()
    return automaton


# --- reference tables --------------------------------------------------------------------


@cache
def _country_codes() -> frozenset[str]:
    return frozenset(country.alpha_2 for country in pycountry.countries)


@cache
def _idn_cctlds() -> dict[str, str]:
    table: dict[str, str] = {}
    for label, country in _IDN_CCTLDS.items():
        table["xn--" + label.encode("punycode").decode("ascii")] = country
    return table


@cache
def _currency_users(codes: frozenset[str]) -> frozenset[str]:
    """The countries whose legal tender includes one of `codes`."""
    return frozenset(
        country
        for country in _country_codes()
        if codes.intersection(get_territory_currencies(country, _CURRENCY_DATE, tender=True))
    )


@cache
def _currency_countries() -> dict[str, str]:
    """Currency code → the one country it points to; codes shared without a home are left out."""
    users: dict[str, set[str]] = {}
    for code in _country_codes():
        for currency in get_territory_currencies(code, _CURRENCY_DATE, tender=True):
            users.setdefault(currency, set()).add(code)
    table = {currency: next(iter(codes)) for currency, codes in users.items() if len(codes) == 1}
    table.update(_HOME_CURRENCIES)
    return table
