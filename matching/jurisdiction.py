"""Whose case is it? The country of a listing's seller, weighed from small signals, with reasons.

Each signal type (the URL's country-code domain, a single-country platform, the seller's
stated location, a "ships from" phrase, a currency, a phone number, the reporter's country)
is one small class in `SIGNAL_TYPES`. Every signal found votes for a country with its weight;
the country with the largest total wins, and every signal seen is kept as a reason, for it
and against it. Each signal type votes at most once per country.

This module must never guess: with no signal, or with a tie at the top, the country is None
and the case goes to the coordinating unit. It never touches the network or the database;
it reads only its own place data (`data/places.json`) and the tables of pycountry, babel,
phonenumbers and tldextract.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import ahocorasick  # type: ignore[import-untyped]
import phonenumbers
import pycountry
from babel import Locale
from babel.numbers import get_territory_currencies

from matching.listing import Listing
from matching.text import Folded, fold, normalise
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

RULES_VERSION = "2025.2"  # bump whenever a weight, a signal type or the place data changes

# --- weights: what each kind of evidence is worth, and why -------------------------------
# The seller's own statement of where the item is: the best a listing tells us.
SELLER_LOCATION_WEIGHT = 3.0
# "Ships from X" in the listing text: also the seller's words, but read out of free prose.
TEXT_LOCATION_WEIGHT = 2.0
# A contact number is usually local to the seller, but SIMs and WhatsApp numbers travel.
PHONE_WEIGHT = 1.5
# A national site serves that country's buyers; its sellers are mostly, not always, local.
URL_CCTLD_WEIGHT = 1.0
# Same, for platforms that serve one country from a generic domain (craigslist.org, taobao.com).
PLATFORM_SITE_WEIGHT = 1.0
# A national currency: sellers quote their own, but sometimes their buyers'.
CURRENCY_WEIGHT = 1.0
# A place named in passing: often where the item is, but also what it is ("Madagascar
# tortoise") or where it came from; half a country site's weight.
TEXT_PLACE_WEIGHT = 0.5
# Where the reporter is, not where the seller is: a fallback and a tie-breaker, never more.
REPORTER_COUNTRY_WEIGHT = 0.25
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
_CITY_SUBDOMAIN_SITES = frozenset({"craigslist.org"})

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
# Something every currency mark above holds (its symbol, or the letters of "Rp", "RM", "KSh"),
# found in one quick search: most texts hold none, and skip the marks' own searches.
_ANY_CURRENCY_MARK = re.compile("[£₫đ฿บ₱₦₹₽р₴г₩원₺₸₲₭៛₮₾₼֏৳₡円$łč]|R[pM]|K[Ss]h")
_CURRENCY_CODE_IN_TEXT = re.compile(r"(?<![A-Za-z])([A-Z]{3})\s?\d|\d\s?([A-Z]{3})(?![A-Za-z])")
_PLUS_SIGN = re.compile("[+\uff0b]")  # phonenumbers' PLUS_CHARS
_WHATSAPP_LINK = re.compile(r"wa\.me/\+?(\d{7,15})")

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
# Scripts written without spaces between words: names in them are found as substrings.
_SPACELESS = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)
# What may separate the parts of one place phrase ("Hanoi, Viet Nam", "London (Ontario)").
_PLACE_JOINER = re.compile(r"[\s,;/()\-–|.]*")
# What may stand between a location cue and the place ("ships from: the UK", "situé au Canada").
_CUE_TO_PLACE = re.compile(
    r"[\s,:;/()\-–|.]*(?:(?:the|la|le|les|l|el|los|las|der|die|das|dem|den|du|des|de|del|di"
    r"|da|do|dos|em|en|in|im|a|au|aux|at)[\s']+)*"
)

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
    lines: tuple[tuple[str, Folded], ...] = ()

    @classmethod
    def of(cls, listing: Listing) -> Evidence:
        url: CanonicalURL | None = None
        if listing.url:
            try:
                url = canonical_url(listing.url)
            except InvalidURL:
                url = None
        hostname = (urlsplit(url.url).hostname or "") if url else ""
        lines = tuple((line, normalise(line)) for line in _composed(listing.full_text).splitlines())
        return cls(listing=listing, url=url, hostname=hostname, lines=lines)


class SignalType(Protocol):
    """One kind of evidence. `detect` yields its signals; weights are the class's constant."""

    name: str
    weight: float

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

    def detect(self, evidence: Evidence) -> Iterator[Signal]:
        for line, folded in evidence.lines:
            for cue in _places().cues.finditer(folded.text):
                window_end = min(len(folded.text), cue.end() + _LOCATION_WINDOW)
                for place in _locate_folded(line, folded, cue.end(), window_end, anchored=True):
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

    def detect(self, evidence: Evidence) -> Iterator[Signal]:
        for line, folded in evidence.lines:
            if _places().cues.search(folded.text):
                continue
            for place in _locate_folded(line, folded, 0, len(folded.text), anchored=False):
                if _ends_phrase(line, place.end):
                    yield Signal(self.name, place.text, place.country, self.weight)


def _ends_phrase(line: str, end: int) -> bool:
    """No word follows the place directly (scripts without spaces always qualify)."""
    last = ord(line[end - 1]) if end else 0
    if 0x0E00 <= last < 0x0E80 or last >= 0x2E80:  # Thai, CJK: no spaces between words
        return True
    rest = line[end:].lstrip(" ")
    return not rest or not rest[0].isalpha()


class UrlCountryDomain:
    """The listing URL's country-code TLD (ebay.co.uk → GB), vanity uses excepted."""

    name = "url_cctld"
    weight = URL_CCTLD_WEIGHT

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

    def detect(self, evidence: Evidence) -> Iterator[Signal]:
        url = evidence.url
        if url is None:
            return
        country = PLATFORM_SITES.get(evidence.hostname) or PLATFORM_SITES.get(url.host)
        if country is None:
            return
        if url.host in _CITY_SUBDOMAIN_SITES and evidence.hostname != url.host:
            subdomain = evidence.hostname.removesuffix("." + url.host).split(".")[-1]
            places = locate(subdomain)
            if places:
                country = places[0].country
        yield Signal(self.name, evidence.hostname, country, self.weight)


class Currency:
    """A currency that belongs to one country, from the currency field or the text."""

    name = "currency"
    weight = CURRENCY_WEIGHT

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
        text = "\n".join(part for part in (listing.price, listing.full_text) if part)
        yield from self._marks(text)
        for match in _CURRENCY_CODE_IN_TEXT.finditer(text):
            code = match.group(1) or match.group(2)
            if code in _CODE_WORDS:
                continue
            if country := _currency_countries().get(code):
                yield Signal(self.name, code, country, self.weight)

    def _marks(self, text: str) -> Iterator[Signal]:
        if not _ANY_CURRENCY_MARK.search(text):
            return  # most texts: one search instead of one per mark
        for pattern, country in _CURRENCY_MARKS:
            if match := pattern.search(text):
                yield Signal(self.name, match.group(0).strip(), country, self.weight)


class Phone:
    """International phone numbers ("+84 912 345 678", wa.me links) and their country."""

    name = "phone"
    weight = PHONE_WEIGHT

    def detect(self, evidence: Evidence) -> Iterator[Signal]:
        listing = evidence.listing
        text = "\n".join(
            part for part in (listing.full_text, listing.seller, listing.seller_location) if part
        )
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
            if _PLUS_SIGN.search(text)
            else []
        )
        for link in _WHATSAPP_LINK.finditer(text):
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


class ReporterCountry:
    """The country the reporter declared: where the report came from, the weakest hint."""

    name = "reporter_country"
    weight = REPORTER_COUNTRY_WEIGHT

    def detect(self, evidence: Evidence) -> Iterator[Signal]:
        country = evidence.listing.reporter_country.strip().upper()
        if country in _country_codes():
            yield Signal(self.name, country, country, self.weight)


SIGNAL_TYPES: tuple[SignalType, ...] = (
    SellerLocation(),
    TextLocation(),
    TextPlace(),
    UrlCountryDomain(),
    PlatformSite(),
    Currency(),
    Phone(),
    ReporterCountry(),
)


def _check_registry(types: tuple[SignalType, ...]) -> None:
    names = [signal_type.name for signal_type in types]
    if len(names) != len(set(names)):
        raise RuntimeError(f"signal type names must be unique: {names}")


_check_registry(SIGNAL_TYPES)


def infer_jurisdiction(listing: Listing) -> Jurisdiction:
    """Weigh every signal in `listing` and name the country whose case it is, if any."""
    evidence = Evidence.of(listing)
    return weigh(signal for kind in SIGNAL_TYPES for signal in kind.detect(evidence))


def weigh(signals: Iterable[Signal]) -> Jurisdiction:
    """The country that `signals` point to, with confidence; None when absent or tied.

    Each signal type votes once per country, however often it was seen: ten reports made
    from eBay's German site are no more German than one. This is also how the signals of
    several reports of one case are combined.
    """
    kept: list[Signal] = []
    seen: set[tuple[str, str]] = set()
    for signal in signals:
        if (signal.signal, signal.country) not in seen:
            seen.add((signal.signal, signal.country))
            kept.append(signal)
    totals: dict[str, float] = {}
    for signal in kept:
        totals[signal.country] = totals.get(signal.country, 0.0) + signal.weight
    if not totals:
        return Jurisdiction(None, 0.0, ())
    best = max(totals.values())
    leaders = [country for country, total in totals.items() if total == best]
    if len(leaders) > 1:  # a tie is a guess: leave it to the coordinating unit
        return Jurisdiction(None, 0.0, tuple(kept))
    confidence = round(best / (sum(totals.values()) + UNKNOWN_WEIGHT), 3)
    return Jurisdiction(leaders[0], confidence, tuple(kept))


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
    matches = _find_names(folded.text, start, end)
    if not matches:
        return ()
    first = matches[0]
    if anchored and not _CUE_TO_PLACE.fullmatch(folded.text, start, first[0]):
        return ()
    phrase = [first]
    for match in matches[1:]:
        if not _PLACE_JOINER.fullmatch(folded.text, phrase[-1][1], match[0]):
            break
        phrase.append(match)
    tier = min(match[3] for match in phrase)
    found: dict[str, PlaceMatch] = {}
    for match_start, match_end, country, match_tier in phrase:
        if match_tier == tier and country not in found:
            orig_start, orig_end = folded.span(match_start, match_end)
            found[country] = PlaceMatch(
                country, tier, orig_start, orig_end, text[orig_start:orig_end]
            )
    return tuple(found.values())


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
    squeezed = _NON_WORD.sub(" ", folded[start:end])
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


@dataclass(frozen=True, slots=True)
class _PlaceIndex:
    # Values are (key, (country, tier)): "united kingdom" → ("GB", tier), "越南" → ("VN", tier).
    word_automaton: Any
    spaceless_automaton: Any  # None when no name is in a script without spaces
    cues: re.Pattern[str]


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


@cache
def _places() -> _PlaceIndex:
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
    for name in data["ambiguous"]:
        entries.pop(_name_key(name), None)

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
    return _PlaceIndex(
        word_automaton=_automaton(words),
        spaceless_automaton=_automaton(spaceless) if spaceless else None,
        cues=cues,
    )


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
def _currency_countries() -> dict[str, str]:
    """Currency code → the one country it points to; codes shared without a home are left out."""
    users: dict[str, set[str]] = {}
    for code in _country_codes():
        for currency in get_territory_currencies(code, _CURRENCY_DATE, tender=True):
            users.setdefault(currency, set()).add(code)
    table = {currency: next(iter(codes)) for currency, codes in users.items() if len(codes) == 1}
    table.update(_HOME_CURRENCIES)
    return table
