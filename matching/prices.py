"""Prices as sellers write them ("$1,200", "1.200,50 €", "R$ 850", "3万円", "1.5k"), read into
a number and a currency, and summarised as medians by product.

No conversion between currencies: without a network there is no exchange rate one could
defend, so a median is always per currency, and "$" or "¥" written alone stay as written
(a dollar or a peso; a yen or a yuan) instead of being guessed into a code.

A product is what the listing offers of a taxon: the product word in the matched trade term
("pangolin scales" → scales, "marfil" → ivory), else one in the title ("African grey
parrot, live baby" → live), else "unspecified". The taxon is kept beside it, so tiger skin
and python skin are never one median.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

import pycountry

from matching.text import fold

__all__ = [
    "PRODUCTS",
    "Price",
    "PriceSummary",
    "find_price",
    "median_by_product",
    "parse_price",
    "product_of",
]


@dataclass(frozen=True, slots=True)
class Price:
    """An amount and its currency: an ISO 4217 code, or the symbol as written when it names
    several currencies ("$", "¥", "kr"), or "" when the seller named none."""

    amount: Decimal
    currency: str


# Symbols and abbreviations that name one currency. Longest first: "HK$" before "$".
_SYMBOLS: tuple[tuple[str, str], ...] = (
    ("US$", "USD"), ("HK$", "HKD"), ("NT$", "TWD"), ("AU$", "AUD"), ("NZ$", "NZD"),
    ("CA$", "CAD"), ("MX$", "MXN"), ("R$", "BRL"), ("S$", "SGD"), ("A$", "AUD"),
    ("£", "GBP"), ("€", "EUR"), ("₦", "NGN"), ("₹", "INR"), ("₽", "RUB"), ("₩", "KRW"),
    ("₫", "VND"), ("฿", "THB"), ("₱", "PHP"), ("₺", "TRY"), ("₴", "UAH"), ("₸", "KZT"),
    ("円", "JPY"), ("元", "CNY"), ("人民币", "CNY"), ("บาท", "THB"), ("원", "KRW"),
    ("руб", "RUB"), ("грн", "UAH"), ("zł", "PLN"), ("Kč", "CZK"), ("KSh", "KES"),
    ("Rp", "IDR"), ("RM", "MYR"), ("vnđ", "VND"), ("đ", "VND"), ("euros", "EUR"),
    ("euro", "EUR"), ("$", "$"), ("¥", "¥"), ("￥", "¥"), ("kr", "kr"),
)  # fmt: skip
_SYMBOL_PATTERN = "|".join(re.escape(symbol) for symbol, _ in _SYMBOLS)
_SYMBOL_CODES = {symbol.casefold(): code for symbol, code in _SYMBOLS}
# A number: digits with thousands separators and one decimal part, in any convention.
_NUMBER = r"\d(?:[\d\s.,'’\u00a0\u202f]*\d)?"
# Multipliers written after a number: "1.5k", "3万", "2 triệu" (Vietnamese million).
_MULTIPLIERS = {
    "k": 1000, "千": 1000, "万": 10000, "萬": 10000, "lakh": 100000, "tr": 1000000,
    "triệu": 1000000,
}  # fmt: skip
_MULTIPLIER_PATTERN = r"(?:(?:triệu|lakh|tr|k)(?![^\W\d_])|千|万|萬)"
_AMOUNT = re.compile(rf"(?P<number>{_NUMBER})\s?(?P<mult>{_MULTIPLIER_PATTERN})?", re.IGNORECASE)
_CODE = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")
_SYMBOL = re.compile(rf"(?<![A-Za-z])(?:{_SYMBOL_PATTERN})|(?:{_SYMBOL_PATTERN})(?![A-Za-z])")
# In free text only an amount right next to a currency counts ("300$", "USD 450", "€1.200").
_TEXT_PRICE = re.compile(
    rf"(?:(?<![A-Za-z])(?P<before>{_SYMBOL_PATTERN}|[A-Z]{{3}})\s?(?P<a1>{_NUMBER})"
    rf"\s?(?P<m1>{_MULTIPLIER_PATTERN})?)"
    rf"|(?:(?<![\d.,])(?P<a2>{_NUMBER})\s?(?P<m2>{_MULTIPLIER_PATTERN})?\s?"
    rf"(?P<after>{_SYMBOL_PATTERN}|[A-Z]{{3}})(?![A-Za-z]))"
)
# Three-letter words that look like currency codes in capitals ("ALL offers", "TOP price").
_NOT_CODES = frozenset({"ALL", "TOP", "CUP", "PEN", "BOB", "SOS", "GEL", "MOP", "AMD", "FOR"})


def parse_price(price: str, currency: str = "") -> Price | None:
    """The price in a listing's price field, with the currency field if there is one.

    Thousands and decimal separators are read from their shape: the last of "." and ","
    is the decimal point when both appear; one separator followed by exactly three digits
    groups thousands ("1.200" is 1200, "12,50" is 12.5). A range ("50-80") reads as its low
    end. None when there is no positive amount ("negotiable", "swap", "0").
    """
    found = _AMOUNT.search(price or "")
    if found is None:
        return None
    amount = _amount(found.group("number"), found.group("mult"))
    if amount is None or amount <= 0:
        return None
    return Price(amount, _currency_of(currency) or _currency_in(price))


def find_price(text: str) -> Price | None:
    """The first amount in free text that is written next to a currency ("€450", "300 USD").

    Bare numbers are never prices here: in a listing they are as often grams, centimetres
    or years.
    """
    for found in _TEXT_PRICE.finditer(text or ""):
        mark = found.group("before") or found.group("after")
        if mark.isupper() and len(mark) == 3 and not _is_code(mark):
            continue
        number = found.group("a1") or found.group("a2")
        amount = _amount(number, found.group("m1") or found.group("m2"))
        if amount is not None and amount > 0:
            return Price(amount, _currency_of(mark))
    return None


def _amount(number: str, multiplier: str | None) -> Decimal | None:
    digits = re.sub(r"[\s'’\u00a0\u202f]", "", number)
    dot, comma = digits.rfind("."), digits.rfind(",")
    if dot >= 0 and comma >= 0:
        decimal_mark = "." if dot > comma else ","
        whole, _, fraction = digits.rpartition(decimal_mark)
        digits = re.sub(r"[.,]", "", whole) + "." + fraction
    elif dot >= 0 or comma >= 0:
        mark = "." if dot >= 0 else ","
        parts = digits.split(mark)
        # Thousands ("1.200", "1,200,000") or a decimal point ("12,50", "12.5").
        thousands = len(parts) > 2 or len(parts[-1]) == 3
        digits = "".join(parts) if thousands else ".".join(parts)
    try:
        amount = Decimal(digits)
    except InvalidOperation:
        return None
    if multiplier:
        amount *= _MULTIPLIERS[multiplier.casefold()]
    return amount


def _currency_of(value: str) -> str:
    """A currency field or mark as a code ("eur" → EUR, "£" → GBP, "$" stays "$")."""
    value = value.strip()
    if not value:
        return ""
    if len(value) == 3 and value.isalpha() and _is_code(value.upper()):
        return value.upper()
    return _SYMBOL_CODES.get(value.casefold(), _currency_in(value))


def _currency_in(text: str) -> str:
    """The currency a price text names, by code first ("450 EUR"), then by symbol."""
    for found in _CODE.finditer(text or ""):
        if _is_code(found.group(1)):
            return found.group(1)
    if found := _SYMBOL.search(text or ""):
        return _SYMBOL_CODES[found.group().casefold()]
    return ""


@cache
def _is_code(code: str) -> bool:
    return code not in _NOT_CODES and pycountry.currencies.get(alpha_3=code) is not None


# --- products ------------------------------------------------------------------------------

# Product words in the languages the lexicon's trade terms are written in, folded as
# `matching.text.fold` folds (lower case, no accents). A term holding one names its product.
# Order matters: "ivory carving" is ivory, "tiger bone wine" is bone.
PRODUCTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ivory", ("ivory", "ivoire", "marfil", "marfim", "elfenbein", "avorio", "avori", "ivoor",
               "ivoren", "tusk", "tusks", "defense", "defenses", "colmillo", "colmillos",
               "presa", "presas", "zanna", "zanne", "stosszahn", "stosszahne", "象牙", "상아",
               "gading", "слоновая кость", "bivne", "бивень", "бивни")),
    ("scales", ("scale", "scales", "ecaille", "ecailles", "escama", "escamas", "schuppe",
                "schuppen", "scaglie", "scaglia", "schubben", "sisik", "鳞", "鳞片", "甲片",
                "чешуя")),
    ("horn", ("horn", "horns", "corne", "cornes", "cuerno", "cuernos", "chifre", "corno",
              "corni", "hoorn", "cula", "犀角", "角", "뿔", "рог")),
    ("skin", ("skin", "skins", "pelt", "pelts", "hide", "hides", "fur", "leather", "rug",
              "peau", "peaux", "fourrure", "cuir", "piel", "pieles", "cuero", "pele", "couro",
              "fell", "felle", "leder", "pelle", "pelliccia", "huid", "kulit", "皮", "가죽",
              "шкура", "кожа")),
    ("bone", ("bone", "bones", "hueso", "huesos", "osso", "ossa", "knochen", "tulang", "骨",
              "뼈", "кость", "кости", "xương")),
    ("teeth and claws", ("tooth", "teeth", "fang", "fangs", "claw", "claws", "dent", "dents",
                         "griffe", "griffes", "diente", "dientes", "garra", "garras", "zahn",
                         "zahne", "kralle", "krallen", "dente", "denti", "artiglio", "牙",
                         "爪", "клык", "коготь", "когти", "nanh", "vuốt")),
    ("bile and medicine", ("bile", "gall", "gallbladder", "bilis", "galle", "胆", "熊胆",
                           "желчь", "powder", "wine", "glue", "膏", "酒")),
    ("meat", ("meat", "viande", "carne", "fleisch", "daging", "肉", "мясо", "thịt")),
    ("shell", ("shell", "shells", "carapace", "tortoiseshell", "caparazon", "concha",
               "panzer", "guscio", "玳瑁", "панцирь")),
    ("eggs", ("egg", "eggs", "oeuf", "oeufs", "huevo", "huevos", "ovo", "ovos", "eier",
              "uova", "telur", "蛋", "卵", "яйца")),
    ("wood", ("wood", "log", "logs", "timber", "plank", "planks", "bois", "madera", "madeira",
              "holz", "legno", "hout", "kayu", "木", "木材", "红木", "древесина")),
    ("live", ("live", "alive", "pet", "baby", "babies", "cub", "cubs", "kitten", "kittens",
              "chick", "chicks", "juvenile", "hatchling", "hatchlings", "vivant", "vivante",
              "vivo", "viva", "lebend", "lebende", "jungtier", "vivo", "hidup", "活", "活体",
              "幼崽", "живой", "живая")),
    ("carvings and jewellery", ("carving", "carved", "figurine", "statue", "statuette",
                                "bracelet", "bangle", "bead", "beads", "necklace", "pendant",
                                "netsuke", "chopsticks", "pulsera", "collar", "colgante",
                                "talla", "figura", "schnitzerei", "armband", "手镯", "手链",
                                "雕", "项链", "挂件", "珠")),
)  # fmt: skip
_UNSPECIFIED = "unspecified"
_SPACELESS = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


@cache
def _product_words() -> tuple[tuple[re.Pattern[str], str], ...]:
    compiled = []
    for product, words in PRODUCTS:
        spaced = [re.escape(fold(word)) for word in words if not _SPACELESS.search(word)]
        spaceless = [re.escape(fold(word)) for word in words if _SPACELESS.search(word)]
        parts = []
        if spaced:
            parts.append(
                r"(?<!\w)(?:" + "|".join(sorted(spaced, key=len, reverse=True)) + r")(?!\w)"
            )
        if spaceless:
            parts.append("|".join(sorted(spaceless, key=len, reverse=True)))
        compiled.append((re.compile("|".join(parts)), product))
    return tuple(compiled)


def _product_in(text: str) -> str | None:
    folded = fold(text)
    for pattern, product in _product_words():
        if pattern.search(folded):
            return product
    return None


def product_of(term: str, kind: str, title: str = "") -> str:
    """What is offered: the product a trade or code term names, else one named in the
    title, else "unspecified". `kind` is the match's kind of term (scientific, common,
    trade, code): a name alone says which animal, not in what form.
    """
    if kind in ("trade", "code") and (product := _product_in(term)):
        return product
    return _product_in(title) or _UNSPECIFIED


# --- medians --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PriceSummary:
    """Prices of one product of one taxon in one currency."""

    taxon: str
    product: str
    currency: str
    count: int
    median: Decimal
    low: Decimal
    high: Decimal


def median_by_product(items: Iterable[tuple[str, str, Price]]) -> list[PriceSummary]:
    """Median, lowest and highest price per (taxon, product, currency) of `items`
    (taxon, product, price), the most often priced first. Currencies are never mixed."""
    groups: dict[tuple[str, str, str], list[Decimal]] = {}
    for taxon, product, price in items:
        groups.setdefault((taxon, product, price.currency), []).append(price.amount)
    summaries = [
        PriceSummary(
            taxon=taxon,
            product=product,
            currency=currency,
            count=len(amounts),
            median=_median(amounts),
            low=min(amounts),
            high=max(amounts),
        )
        for (taxon, product, currency), amounts in groups.items()
    ]
    summaries.sort(key=lambda s: (-s.count, s.taxon, s.product, s.currency))
    return summaries


def _median(amounts: Sequence[Decimal]) -> Decimal:
    return Decimal(statistics.median(sorted(amounts)))
