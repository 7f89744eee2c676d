"""Canonical listing keys: two URLs of the same online listing must share one key.

`canonical_url` cleans a reported URL (case, default ports, `www.`/`m.` hosts, tracking
parameters, fragments, parameter order) and, on platforms whose item identifiers we know,
reduces it to the item itself (`ebay:item:123…`), so the same eBay item seen on ebay.com and
ebay.de, with or without its title slug and share parameters, lands on one case.

This module must never fetch, resolve or follow a URL (no DNS, no redirects, no network:
the public suffix list is the copy bundled with tldextract), and must never merge two
URLs unless they are the same listing as far as the URL alone can tell — a missed merge
makes a duplicate case, a false merge hides a listing inside someone else's case.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from urllib.parse import quote, unquote, urlsplit

import tldextract

__all__ = ["MAX_URL_LENGTH", "CanonicalURL", "InvalidURL", "canonical_url"]

MAX_URL_LENGTH = 2048  # browsers and most servers stop around here; longer is not a listing

# Leading host labels that name the same site as the bare host on every platform we know.
_ALIAS_LABELS = frozenset({"www", "m", "mobile"})

# Query parameters that only say how a visitor arrived, never which listing it is.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "igshid",
        "igsh",
        "si",
        "ref",
        "ref_",
        "ref_src",
        "ref_url",
        "spm",
        "scm",
        "_ga",
        "_gl",
        "mkt_tok",
        "mibextid",
        "rdid",
        "__tn__",
        "__cft__[0]",
        # eBay share and campaign tracking
        "_trkparms",
        "_trksid",
        "mkevt",
        "mkcid",
        "mkrid",
        "campid",
        "toolid",
        "customid",
        "amdata",
        # Etsy search and click tracking
        "click_key",
        "click_sum",
        "ga_order",
        "ga_search_type",
        "ga_view_type",
        "ga_search_query",
        "organic_search_click",
        "sts",
        "frs",
        "plkey",
    }
)
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "_hs")
# Names that track only on one platform and may mean something elsewhere.
_PLATFORM_TRACKING_PARAMS = {
    "ebay": frozenset({"hash", "_from"}),
}

# Registrable domains and domain labels of platforms. A label (e.g. "ebay") names the platform
# under any public suffix; short or generic labels ("t", "x") are matched by full domain only.
_PLATFORM_DOMAINS = {
    "t.me": "telegram",
    "telegram.me": "telegram",
    "telegram.dog": "telegram",
    "wa.me": "whatsapp",
    "fb.com": "facebook",
    "fb.me": "facebook",
    "m.me": "facebook",
    "instagr.am": "instagram",
    "vk.com": "vk",
    "ok.ru": "odnoklassniki",
    "x.com": "twitter",
    "jd.com": "jd",
    "1688.com": "alibaba",
    "youtu.be": "youtube",
    "ebay.us": "ebay",
}
_PLATFORM_LABELS = {
    "ebay": "ebay",
    "facebook": "facebook",
    "instagram": "instagram",
    "etsy": "etsy",
    "olx": "olx",
    "mercadolibre": "mercadolibre",
    "mercadolivre": "mercadolibre",
    "shopee": "shopee",
    "lazada": "lazada",
    "tokopedia": "tokopedia",
    "bukalapak": "bukalapak",
    "avito": "avito",
    "kijiji": "kijiji",
    "craigslist": "craigslist",
    "leboncoin": "leboncoin",
    "gumtree": "gumtree",
    "marktplaats": "marktplaats",
    "kleinanzeigen": "kleinanzeigen",
    "wallapop": "wallapop",
    "subito": "subito",
    "milanuncios": "milanuncios",
    "allegro": "allegro",
    "vinted": "vinted",
    "taobao": "taobao",
    "tmall": "tmall",
    "goofish": "xianyu",
    "xianyu": "xianyu",
    "alibaba": "alibaba",
    "aliexpress": "aliexpress",
    "dhgate": "dhgate",
    "amazon": "amazon",
    "mercari": "mercari",
    "rakuten": "rakuten",
    "carousell": "carousell",
    "jiji": "jiji",
    "jumia": "jumia",
    "telegram": "telegram",
    "whatsapp": "whatsapp",
    "twitter": "twitter",
    "tiktok": "tiktok",
    "youtube": "youtube",
    "pinterest": "pinterest",
    "reddit": "reddit",
    "offerup": "offerup",
    "tradera": "tradera",
    "trademe": "trademe",
    "dubizzle": "dubizzle",
    "chotot": "chotot",
    "coupang": "coupang",
}

_EBAY_ITEM = re.compile(r"^/itm/(?:[^/]+/)?(\d{9,19})(?:/|$)")
_EBAY_ISAPI_ITEM = re.compile(r"(?:^|&)item=(\d{9,19})(?:&|$)")
_FACEBOOK_MARKETPLACE_ITEM = re.compile(r"^/marketplace/(?:[^/]+/)?item/(\d+)(?:/|$)")
_ETSY_LISTING = re.compile(r"^/(?:[a-z]{2}(?:-[a-z]{2,4})?/)?listing/(\d+)(?:/|$)", re.IGNORECASE)
# Post, reel and IGTV share one shortcode space; shortcodes are case-sensitive.
_INSTAGRAM_POST = re.compile(r"^/(?:[A-Za-z0-9._]+/)?(?:p|reels?|tv)/([A-Za-z0-9_-]+)(?:/|$)")
# t.me/channel/123 and its web preview t.me/s/channel/123; usernames are case-insensitive.
_TELEGRAM_POST = re.compile(r"^/(?:s/)?([A-Za-z][A-Za-z0-9_]{3,31})/(\d+)(?:/|$)")
_TELEGRAM_PRIVATE_POST = re.compile(r"^/c/(\d+)/(\d+)(?:/|$)")

_HOST_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_PERCENT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters left as they are when re-encoding a path or query (RFC 3986 reserved + "%").
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = "/:@!$'()*+,;=-._~%?"
_DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidURL(ValueError):
    """The text is not an http(s) URL that can identify a listing."""


@dataclass(frozen=True, slots=True)
class CanonicalURL:
    """A listing URL reduced to what identifies the listing.

    `host` is the registrable domain (public suffix plus one label: "ebay.co.uk" for
    "www.ebay.co.uk", "craigslist.org" for "sfbay.craigslist.org"), or the IP address or
    bare name when there is no known public suffix; the full host is in `url`.
    """

    key: str
    url: str
    host: str
    platform: str | None
    suffix: str


@cache
def _extractor() -> tldextract.TLDExtract:
    # Offline: the bundled public suffix list, no fetch, no cache directory.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


#: Unicode categories no URL may hold: format characters (bidi overrides and isolates,
#: zero-width spaces), controls, and line/paragraph/space separators. They make an address
#: read differently from what it is (`…/itm/1\u202egpj.exe` shows as `…/itm/1exe.jpg`).
INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Zl", "Zp", "Zs"})
INVISIBLE_MESSAGE = "URL contains invisible or direction-changing characters (e.g. U+202E)"


#: The ASCII characters of `INVISIBLE_CATEGORIES` (controls Cc and the space, Zs), which are
#: also ASCII's whitespace and controls as `canonical_url` refuses them: in an ASCII text
#: (nearly every URL) one search answers both questions without a call per character.
_ASCII_BLANK_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def has_invisible(text: str) -> bool:
    """Whether `text` holds a character of `INVISIBLE_CATEGORIES`."""
    if text.isascii():
        return _ASCII_BLANK_OR_CONTROL.search(text) is not None
    return any(unicodedata.category(ch) in INVISIBLE_CATEGORIES for ch in text)


def _has_blank_or_control(text: str) -> bool:
    """Whether `text` holds whitespace, a C0 control or DEL."""
    if text.isascii():
        return _ASCII_BLANK_OR_CONTROL.search(text) is not None
    return any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)


def canonical_url(url: str) -> CanonicalURL:
    """Clean `url` and derive the key of the listing it points to.

    Raises `InvalidURL` for anything that is not an absolute http(s) URL with a host:
    other schemes, credentials in the URL, bad ports or host names, whitespace, control or
    invisible (format) characters inside, and URLs longer than `MAX_URL_LENGTH`.
    """
    text = url.strip()
    if not text:
        raise InvalidURL("empty URL")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidURL(f"URL longer than {MAX_URL_LENGTH} characters")
    if _has_blank_or_control(text):
        raise InvalidURL("URL contains whitespace or control characters")
    if has_invisible(text):
        raise InvalidURL(INVISIBLE_MESSAGE)
    if "\\" in text:
        raise InvalidURL("URL contains a backslash")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise InvalidURL(f"malformed URL: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidURL("only http and https URLs identify a listing")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidURL("URL carries credentials")
    registrable, suffix, platform, shown_host = _host(parts.hostname or "")
    netloc = f"[{shown_host}]" if ":" in shown_host else shown_host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = _normalise_escapes(quote(parts.path, safe=_PATH_SAFE)) or "/"
    query = _clean_query(parts.query, _PLATFORM_TRACKING_PARAMS.get(platform or "", frozenset()))
    without_scheme = netloc + path + (f"?{query}" if query else "")
    key = _item_key(platform, path, query, registrable) or without_scheme
    return CanonicalURL(
        key=key,
        url=f"{scheme}://{without_scheme}",
        host=registrable,
        platform=platform,
        suffix=suffix,
    )


@lru_cache(maxsize=4096)
def _host(hostname: str) -> tuple[str, str, str | None, str]:
    """The registrable domain, public suffix, platform and shown host of a URL's host name.

    A pure function of the name, and a stream of listings names the same few hosts over
    and over: remembered (an IP address test, an IDNA check and a public suffix lookup
    were most of `canonical_url`'s time). A name that is no host raises `InvalidURL`,
    which is not remembered.
    """
    hostname = _normalise_host(hostname)
    if _is_ip(hostname):
        return hostname, "", None, hostname
    extracted = _extractor()(hostname)
    suffix = extracted.suffix
    subdomain_labels = [label for label in extracted.subdomain.split(".") if label]
    while subdomain_labels and subdomain_labels[0] in _ALIAS_LABELS:
        subdomain_labels.pop(0)
    registrable = f"{extracted.domain}.{suffix}" if suffix else extracted.domain
    shown_host = ".".join([*subdomain_labels, registrable])
    platform = _PLATFORM_DOMAINS.get(registrable) or (
        _PLATFORM_LABELS.get(extracted.domain) if suffix else None
    )
    return registrable, suffix, platform, shown_host


def _normalise_host(hostname: str) -> str:
    """Lower-case ASCII (IDNA) form of the host; raises InvalidURL when it is no host."""
    host = hostname.rstrip(".").lower()
    if not host:
        raise InvalidURL("URL has no host")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        if not address.is_global:
            raise InvalidURL(f"host {hostname!r} is not a public address")
        return str(address)
    labels = []
    for label in host.split("."):
        if not label.isascii():
            try:
                label = label.encode("idna").decode("ascii")
            except UnicodeError:
                raise InvalidURL(f"host label {label!r} is not a valid domain label") from None
        if not _HOST_LABEL.match(label):
            raise InvalidURL(f"host {hostname!r} is not a valid domain name")
        labels.append(label)
    if len(labels) < 2:
        raise InvalidURL(f"host {hostname!r} is not a public domain name")
    ascii_host = ".".join(labels)
    if len(ascii_host) > 253:
        raise InvalidURL("host name too long")
    return ascii_host


def _normalise_escapes(text: str) -> str:
    """Decode escapes of unreserved characters and upper-case the others (RFC 3986 §6.2.2)."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else f"%{match.group(1).upper()}"

    return _PERCENT_ESCAPE.sub(fix, text)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_tracking(name: str, extra: frozenset[str]) -> bool:
    name = name.lower()
    return name in _TRACKING_PARAMS or name in extra or name.startswith(_TRACKING_PREFIXES)


def _clean_query(query: str, extra_tracking: frozenset[str]) -> str:
    """Drop tracking parameters and sort the rest by name, keeping each pair as written.

    Repeated names keep their relative order (the sort is stable): their order can matter.
    """
    kept: list[tuple[str, str]] = []
    for pair in query.split("&"):
        if not pair:
            continue
        name = unquote(pair.split("=", 1)[0].replace("+", " "))
        if _is_tracking(name, extra_tracking):
            continue
        kept.append((name, _normalise_escapes(quote(pair, safe=_QUERY_SAFE))))
    kept.sort(key=lambda item: item[0])
    return "&".join(pair for _, pair in kept)


@dataclass(frozen=True, slots=True)
class ItemPattern:
    """Where one platform's URLs carry the listing's identifier.

    `pattern` is searched in the path (or, with `in_query`, the query); its groups, joined
    with `join`, are the identifier. `per_site`: identifiers are only unique within one
    country site (OLX, Shopee, Gumtree), so the key carries the registrable host; otherwise
    the key is platform-wide (an eBay item id is the same item on every eBay site).
    """

    platform: str
    kind: str
    pattern: re.Pattern[str]
    per_site: bool = False
    in_query: bool = False
    join: str = ""  # how several groups make one identifier ("MLM" + "123", "12" . "34")


#: Item identifiers of marketplaces and social sites, as data: one line per URL shape.
ITEM_PATTERNS: tuple[ItemPattern, ...] = (
    ItemPattern("craigslist", "post", re.compile(r"/(\d{9,12})\.html$")),
    # olx.co.id/item/title-iid-812345678; olx.pl/d/oferta/title-CID3-IDabc12.html;
    # olx.com.br/.../title-1234567890
    ItemPattern("olx", "item", re.compile(r"-iid-(\d+)(?:$|[/?])"), per_site=True),
    ItemPattern("olx", "item", re.compile(r"-ID([0-9A-Za-z]+)\.html$"), per_site=True),
    ItemPattern("olx", "item", re.compile(r"^/[^?]*-(\d{8,12})$"), per_site=True),
    # articulo.mercadolibre.com.mx/MLM-123456789-title, .../p/MLM123456789: the site prefix
    # (MLM, MLA, MLB…) makes the identifier unique across countries.
    ItemPattern("mercadolibre", "item", re.compile(r"/(ML[A-Z])-?(\d{6,14})(?:[-_/]|$)")),
    # shopee.vn/Title-i.12345.67890 and shopee.vn/product/12345/67890 (shop id, item id)
    ItemPattern(
        "shopee", "item", re.compile(r"-i\.(\d+)\.(\d+)(?:$|[/?])"), per_site=True, join="."
    ),
    ItemPattern("shopee", "item", re.compile(r"^/product/(\d+)/(\d+)"), per_site=True, join="."),
    # item.taobao.com/item.htm?id=123 and detail.tmall.com/item.htm?id=123: one id space
    ItemPattern("taobao", "item", re.compile(r"(?:^|&)id=(\d{6,})(?:&|$)"), in_query=True),
    ItemPattern("tmall", "item", re.compile(r"(?:^|&)id=(\d{6,})(?:&|$)"), in_query=True),
    ItemPattern(
        "xianyu", "item", re.compile(r"(?:^|&)(?:id|itemId)=(\d{6,})(?:&|$)"), in_query=True
    ),
    ItemPattern("kijiji", "ad", re.compile(r"/(\d{8,12})(?:$|[/?])")),
    ItemPattern("gumtree", "ad", re.compile(r"^/p/[^?]*/(\d{8,12})$"), per_site=True),
    ItemPattern("leboncoin", "ad", re.compile(r"/(\d{8,12})(?:\.htm)?/?$")),
    ItemPattern("avito", "item", re.compile(r"_(\d{8,12})$")),
    ItemPattern("facebook", "marketplace", _FACEBOOK_MARKETPLACE_ITEM),
    ItemPattern("etsy", "listing", _ETSY_LISTING),
    ItemPattern("instagram", "post", _INSTAGRAM_POST),
)

_KEY_PLATFORM = {"tmall": "taobao"}  # platforms that share one item id space


def _item_key(platform: str | None, path: str, query: str, host: str) -> str | None:
    """The platform-wide key of a listing whose item identifier we can read, else None."""
    if platform == "ebay":
        if match := _EBAY_ITEM.match(path):
            return f"ebay:item:{match.group(1)}"
        if path.lower().endswith("/ebayisapi.dll") and (
            match := _EBAY_ISAPI_ITEM.search(query.lower())
        ):
            return f"ebay:item:{match.group(1)}"
        return None
    if platform == "telegram":
        if match := _TELEGRAM_PRIVATE_POST.match(path):
            return f"telegram:c/{match.group(1)}/{match.group(2)}"
        if match := _TELEGRAM_POST.match(path):
            return f"telegram:{match.group(1).lower()}/{match.group(2)}"
        return None
    for item in ITEM_PATTERNS:
        if item.platform != platform:
            continue
        match = item.pattern.search(query if item.in_query else path)
        if match:
            ident = item.join.join(match.groups())
            scope = host if item.per_site else _KEY_PLATFORM.get(platform, platform)
            return f"{scope}:{item.kind}:{ident}"
    return None
