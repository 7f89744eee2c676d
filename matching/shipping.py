"""How a listing says it ships: couriers and means (DHL, post, "discreet packaging", "no
customs"), and routes from where it ships to where it goes, in the languages of the lexicon.

Figures on shipping routes and methods are what CITES asks of Parties for e-commerce
(changes in routes and methods over time); this module reads them out of one listing's
words and its `seller_location` / `ships_to` fields. Places are read with
`matching.jurisdiction.locate`, the same gazetteer that routes cases, so a place is the
same country here as there.

Everything is phrase-based and errs towards saying nothing: a place counts as an origin
only right after a "ships from" cue and as a destination only right after a "ships to"
cue (or in the fields), a courier's name in capitals only where it is an acronym ("UPS",
not "ups and downs"), and a negated phrase ("no international shipping", "does not ship
to Australia") names nothing. "Pickup only" and the like are read as their own mention.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import pycountry

from matching.jurisdiction import locate
from matching.text import Folded, fold, normalise

__all__ = [
    "EUROPE",
    "NO_SHIPPING",
    "UNKNOWN",
    "WORLDWIDE",
    "Shipping",
    "place_label",
    "read_shipping",
    "route_label",
]

WORLDWIDE = "WORLDWIDE"
EUROPE = "EUROPE"
UNKNOWN = "?"  # one end of a route the listing does not name
NO_SHIPPING = "pickup only (no shipping)"
DISCREET = "discreet packaging"
NO_CUSTOMS = "avoids customs"

# Couriers whose names are acronyms or everyday words in lower case: matched as written,
# in capitals, in the original text.
_ACRONYM_COURIERS: tuple[tuple[str, str], ...] = (
    ("UPS", r"UPS"),
    ("TNT", r"TNT"),
    ("EMS", r"EMS"),
    ("DPD", r"DPD"),
    ("GLS", r"GLS"),
    ("JNE", r"JNE"),
    ("SF Express", r"SF"),
)
# Means of shipping by name, matched in folded text (lower case, no accents). A term in a
# script without spaces is a substring; any other must stand as whole words.
_METHODS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("DHL", ("dhl",)),
    ("FedEx", ("fedex", "fed ex")),
    ("EMS", ("特快专递", "國際快捷", "ems express")),
    ("USPS", ("usps", "priority mail")),
    ("Royal Mail", ("royal mail", "parcelforce")),
    ("Aramex", ("aramex",)),
    ("SF Express", ("sf express", "顺丰", "順豐", "sf快递")),
    ("China Post", ("china post", "中国邮政", "中國郵政")),
    ("Chinese express (ZTO, YTO, STO, Yunda, JD)", (
        "中通", "圆通", "申通", "韵达", "京东物流", "zto express", "yto express", "yunda")),
    ("Japan Post", ("japan post", "ゆうパック", "日本郵便", "ゆうパケット")),
    ("Yamato", ("yamato", "ヤマト運輸", "宅急便")),
    ("Sagawa", ("sagawa", "佐川")),
    ("Korea Post", ("korea post", "우체국")),
    ("CJ Logistics", ("cj logistics", "cj대한통운")),
    ("J&T Express", ("j&t", "j t express")),
    ("Kerry Express", ("kerry express",)),
    ("Ninja Van", ("ninja van", "ninjavan")),
    ("Lalamove", ("lalamove",)),
    ("Grab Express", ("grab express", "grabexpress")),
    ("Pos Indonesia / Malaysia", ("pos indonesia", "pos malaysia", "poslaju", "pos laju")),
    ("Thailand Post", ("thailand post", "ไปรษณีย์ไทย")),
    ("Vietnam Post, Viettel, GHN, GHTK", (
        "vnpost", "viettel post", "giao hang nhanh", "giao hang tiet kiem", "ghtk", "ghn")),
    ("Nova Poshta", ("nova poshta", "нова пошта", "новая почта")),
    ("CDEK", ("cdek", "сдэк")),
    ("Russian Post", ("russian post", "почта россии", "почтой россии")),
    ("Correos", ("correos",)),
    ("Correios / Sedex", ("correios", "sedex")),
    ("Colissimo / Chronopost", ("colissimo", "chronopost")),
    ("Deutsche Post / DHL Paket", ("deutsche post", "dhl paket")),
    ("PostNL", ("postnl",)),
    ("Poste Italiane", ("poste italiane", "poste italiane")),
    ("Canada Post", ("canada post", "postes canada")),
    ("Australia Post", ("australia post", "auspost")),
    # Not "Hermes": the fashion house sells crocodile leather.
    ("Evri", ("evri",)),
    ("post", (
        "by post", "via post", "per post", "registered mail", "registered post", "airmail",
        "air mail", "post office", "la poste", "lettre suivie", "por correo",
        "correo certificado", "per posta", "posta prioritaria", "pocztą", "почтой", "邮寄",
        "平邮", "挂号", "郵寄", "bưu điện", "per briefpost", "pos kilat")),
    ("courier", (
        "courier", "coursier", "mensajeria", "mensajero", "kurier", "corriere", "koerier",
        "快递", "快遞", "курьер", "chuyển phát nhanh", "kurir", "transportadora")),
    ("air or sea cargo", (
        "air cargo", "sea cargo", "air freight", "sea freight", "fret aerien", "carga aerea",
        "luftfracht", "空运", "海运", "空運", "海運", "карго", "авиадоставка")),
    ("hand delivery", (
        "hand delivery", "meet up", "meetup", "face to face", "in person", "en mano",
        "en main propre", "personliche ubergabe", "di persona", "面交", "giao tận tay",
        "ketemuan")),
)  # fmt: skip
_PACKAGING: tuple[tuple[str, tuple[str, ...]], ...] = (
    (DISCREET, (
        "discreet", "discrete shipping", "discrete packaging", "stealth", "hidden",
        "concealed", "disguised", "neutral packaging", "unmarked", "plain packaging",
        "vacuum sealed", "vacuum packed", "envio discreto", "embalaje discreto",
        "paquete discreto", "discreto", "discreta", "envoi discret", "colis discret",
        "emballage discret", "emballage neutre", "diskret", "diskreter versand",
        "diskrete verpackung", "neutrale verpackung", "neutral verpackt", "spedizione discreta",
        "imballaggio discreto", "pacco anonimo", "discreet verzonden", "discrete verzending",
        "embalagem discreta", "pengiriman aman", "packing aman", "rahasia", "隐蔽", "隐秘",
        "保密发货", "保密包装", "隐私包装", "隐形包装", "дискретн", "анонимная упаковка",
        "скрытая упаковка", "đóng gói kín", "kín đáo", "dyskretn")),
    (NO_CUSTOMS, (
        "no customs", "customs free", "avoid customs", "avoids customs", "bypass customs",
        "without customs", "undeclared", "not declared", "false declaration", "declared as",
        "sin aduana", "sin aduanas", "sans douane", "ohne zoll", "zollfrei", "senza dogana",
        "zonder douane", "sem alfandega", "tanpa bea cukai", "不过海关", "包清关", "双清",
        "免检", "避开海关", "без таможни", "не через таможню", "không qua hải quan", "bez cła")),
)  # fmt: skip
_NO_SHIPPING = (
    "no shipping", "no postage", "does not ship", "doesn't ship", "do not ship", "don't ship",
    "will not ship", "won't ship", "not shipping", "cannot ship", "can't ship",
    "pickup only", "pick up only", "pick-up only", "collection only", "collect only",
    "local pickup only", "local only", "no envio", "no envios", "no hago envios", "sin envio",
    "solo recogida", "solo entrega en mano", "pas d'envoi", "pas d'expedition",
    "remise en main propre uniquement", "retrait uniquement", "kein versand", "nur abholung",
    "nur selbstabholung", "selbstabholung", "niente spedizione", "no spedizione",
    "solo ritiro", "alleen ophalen", "geen verzending", "nao envio", "so retirada",
    "apenas retirada", "tidak kirim", "不发货", "不寄", "仅自提", "只自提", "自提",
    "только самовывоз", "самовывоз", "без доставки", "chỉ giao tận tay", "odbiór osobisty",
    "tylko odbiór",
)  # fmt: skip
# Where it ships from: the place must follow the cue.
_FROM_CUES = (
    "ships from", "shipping from", "shipped from", "ship from", "dispatched from",
    "dispatch from", "dispatches from", "sent from", "posted from", "sending from",
    "located in", "location:", "item location", "based in", "seller location",
    "expédié de", "expédié depuis", "expédition depuis", "envoi depuis", "envoyé de",
    "envoyé depuis", "enviado desde", "envío desde", "se envía desde", "enviamos desde",
    "enviado de", "envio de", "versand aus", "versand von", "versand ab", "artikelstandort",
    "spedito da", "spedizione da", "spedisco da", "verzonden vanuit", "verzonden uit",
    "dikirim dari", "kirim dari", "pengiriman dari", "gửi từ", "ship từ", "giao từ",
    "отправка из", "доставка из", "отправляю из", "发货地", "發貨地", "发自", "發自", "寄自",
    "从", "從", "ส่งจาก", "wysyłka z", "odeslání z", "gönderim yeri",
)  # fmt: skip
# Where it goes.
_TO_CUES = (
    "ships to", "shipping to", "ship to", "shipped to", "we ship to", "delivery to",
    "deliver to", "delivers to", "delivering to", "send to", "sending to", "post to",
    "posting to", "shipping available to", "envío a", "envíos a", "enviamos a",
    "se envía a", "livraison en", "livraison vers", "livraison à", "livraison au",
    "expédition vers", "envoi vers", "envoi en", "versand nach", "lieferung nach",
    "wir versenden nach", "spedizione in", "spedizione verso", "spedisco in",
    "verzending naar", "enviamos para", "envio para", "entrega para", "kirim ke",
    "pengiriman ke", "gửi đến", "ship đến", "giao đến", "доставка в", "отправка в",
    "доставка по", "发往", "寄往", "发货到", "包邮到", "送往", "寄到", "ส่งไป", "wysyłka do",
    "dostawa do", "gönderim",
)  # fmt: skip
# After an origin, what introduces its destination ("from Lagos to worldwide").
_ROUTE_JOINER = re.compile(r"\s*(?:to|->|→|=>|a|à|vers|nach|naar|para|per|до|в|ke|到|至|đến)\s*")
_WORLDWIDE = (
    "worldwide", "world wide", "world-wide", "anywhere in the world", "international shipping",
    "ships internationally", "ship internationally", "all countries", "monde entier",
    "partout dans le monde", "todo el mundo", "envios internacionales", "weltweit",
    "in tutto il mondo", "wereldwijd", "mundo todo", "todo o mundo", "seluruh dunia",
    "toàn cầu", "toan the gioi", "по всему миру", "全球", "全世界", "世界各地", "ทั่วโลก",
    "na cały świat", "dünya geneli", "dunya geneli",
)  # fmt: skip
_EUROPE = ("europe", "europa", "european union", "eu", "ue", "欧洲", "歐洲", "европа", "европу")
# A phrase preceded by one of these is denied ("no international shipping", "not to the US").
_NEGATION = re.compile(
    r"(?:\bno|\bnot|n't|\bnever|\bexcept|\bexcluding|\bsauf|\bexcepto|\bmenos|\bausser"
    r"|\btranne|\bkein|\bkeine|\bnicht|\bsin|\bsans|\bne|\bn'|\bне|\bкроме|不|除)\W*(?:\w+\W+)?$"
)
# A phrase followed by one of these is denied ("international shipping not available").
_DENIED_AFTER = re.compile(
    r"^\W*(?:is\s+)?(?:not available|unavailable|not possible|no disponible|non disponible"
    r"|nicht moglich|nao disponivel)"
)
# "does not ship to Australia" refuses one destination, not shipping.
_PARTIAL_REFUSAL = re.compile(
    r"\s*(?:to|outside|abroad|overseas|internationally|international|a|à|nach|in)\b"
)
_NEGATION_WINDOW = 24
# A negation does not reach past the end of its sentence.
_SENTENCE_END = re.compile(r"[.!?;\n。！？]")
_PLACE_WINDOW = 60
# What may stand between a cue and the place it introduces.
_FILLER = re.compile(
    r"[\s,:;()\-–|.]*(?:(?:the|la|le|les|l'|el|los|las|der|die|das|dem|den|du|des|de|del"
    r"|di|da|do|dos|em|en|in|im|a|au|aux|at|w|z|v|ve|в|во|из|с|only)[\s']+)*"
)
# A place we do not know, then one we do: "ships from Chittagong, Bangladesh".
_LATER_PLACE = re.compile(_FILLER.pattern + r"(?:[^\W\d]+[\s'\-]*){1,3},\s*")
_SPACELESS = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]"
)


@dataclass(frozen=True, slots=True)
class Shipping:
    """What one listing says about shipping.

    `methods`: couriers and means named ("DHL", "post", "hand delivery"); `packaging`:
    concealment phrases ("discreet packaging", "avoids customs"); `no_shipping`: the seller
    says it does not ship ("pickup only"); `origins` and `destinations`: ISO 3166 alpha-2
    codes, and `WORLDWIDE` or `EUROPE` among destinations.
    """

    methods: tuple[str, ...] = ()
    packaging: tuple[str, ...] = ()
    no_shipping: bool = False
    origins: tuple[str, ...] = ()
    destinations: tuple[str, ...] = ()

    @property
    def mentions(self) -> tuple[str, ...]:
        """Everything said about the means of shipping, one label each."""
        return self.methods + self.packaging + ((NO_SHIPPING,) if self.no_shipping else ())

    @property
    def routes(self) -> tuple[tuple[str, str], ...]:
        """(from, to) pairs; `UNKNOWN` stands for an end the listing does not name. A
        listing that ships nowhere has no route, whatever its location."""
        if not self.destinations and (self.no_shipping or not self.origins):
            return ()
        origins = self.origins or (UNKNOWN,)
        destinations = self.destinations or (UNKNOWN,)
        return tuple((a, b) for a in origins for b in destinations if a != b)


def read_shipping(text: str, *, seller_location: str = "", ships_to: str = "") -> Shipping:
    """Shipping methods, packaging and routes in a listing's title and text (`text`) and
    its stated seller location and destinations."""
    text = unicodedata.normalize("NFC", (text or "").replace("’", "'"))
    folded = normalise(text)
    methods = _methods(text, folded.text)
    packaging = tuple(
        label for label, pattern in _packaging_patterns() if _found(pattern, folded.text)
    )
    no_shipping = any(
        not _negated(folded.text, m.start(), m.end())
        and not _PARTIAL_REFUSAL.match(folded.text, m.end())
        for m in _no_shipping_pattern().finditer(folded.text)
    )
    origins = _ordered(_field_places(seller_location) + tuple(_cued(text, folded, _FROM_CUES)))
    destinations = _ordered(
        _field_destinations(ships_to)
        + tuple(_cued(text, folded, _TO_CUES))
        + tuple(_after_origins(text, folded))
        + tuple(_worldwide(folded.text))
    )
    return Shipping(methods, packaging, no_shipping, origins, destinations)


def place_label(code: str) -> str:
    """A route end as people read it: "worldwide", "Europe", "?" or a country's name."""
    if code == WORLDWIDE:
        return "worldwide"
    if code == EUROPE:
        return "Europe"
    if code == UNKNOWN:
        return "?"
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or getattr(country, "name", code)


def route_label(route: tuple[str, str]) -> str:
    """ "NG → worldwide": codes for countries (short, for legends), words for the rest."""
    return " → ".join(_short(end) for end in route)


def _short(code: str) -> str:
    return place_label(code) if code in (WORLDWIDE, EUROPE, UNKNOWN) else code


def _ordered(codes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(codes))


# --- methods and packaging ------------------------------------------------------------------


def _compile(terms: tuple[str, ...]) -> re.Pattern[str]:
    spaced = sorted((re.escape(fold(t)) for t in terms if not _SPACELESS.search(t)), key=len)
    spaceless = [re.escape(fold(t)) for t in terms if _SPACELESS.search(t)]
    parts = []
    if spaced:
        parts.append(r"(?<!\w)(?:" + "|".join(reversed(spaced)) + r")")
    parts += spaceless
    return re.compile("|".join(parts))


@cache
def _method_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((label, _compile(terms)) for label, terms in _METHODS)


@cache
def _packaging_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((label, _compile(terms)) for label, terms in _PACKAGING)


@cache
def _no_shipping_pattern() -> re.Pattern[str]:
    return _compile(_NO_SHIPPING)


@cache
def _acronyms() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple(
        (label, re.compile(rf"(?<![A-Za-z0-9]){acronym}(?![A-Za-z0-9])"))
        for label, acronym in _ACRONYM_COURIERS
    )


def _methods(text: str, folded: str) -> tuple[str, ...]:
    found = [label for label, pattern in _acronyms() if pattern.search(text)]
    found += [label for label, pattern in _method_patterns() if _found(pattern, folded)]
    return _ordered(tuple(found))


def _found(pattern: re.Pattern[str], folded: str) -> bool:
    """A phrase that is said, not denied ("no discreet packaging" says nothing)."""
    return any(not _negated(folded, m.start(), m.end()) for m in pattern.finditer(folded))


def _negated(folded: str, start: int, end: int) -> bool:
    before = _clause_before(folded, start)
    after = _SENTENCE_END.split(folded[end : end + _NEGATION_WINDOW], maxsplit=1)[0]
    return bool(_NEGATION.search(before) or _DENIED_AFTER.match(after))


def _clause_before(folded: str, start: int) -> str:
    """The few characters before `start` in the same sentence."""
    return _SENTENCE_END.split(folded[max(0, start - _NEGATION_WINDOW) : start])[-1]


# --- places -----------------------------------------------------------------------------------


def _field_places(field: str) -> tuple[str, ...]:
    """Countries a location field names: an ISO code ("NG") or place names."""
    field = (field or "").strip()
    if not field:
        return ()
    if len(field) == 2 and field.isalpha() and field.isupper():
        return (field,) if pycountry.countries.get(alpha_2=field) else ()
    return tuple(place.country for place in locate(field))


def _field_destinations(field: str) -> tuple[str, ...]:
    """A ships-to field: "worldwide", "EU", a list of codes ("US, CA") or of places."""
    found: list[str] = []
    for part in re.split(r"[,;/|\n]+|\s+(?:and|or|&)\s+", field or ""):
        part = part.strip()
        if not part:
            continue
        folded = fold(part)
        if _worldwide_pattern().search(folded):
            found.append(WORLDWIDE)
        elif _europe_pattern().fullmatch(folded.strip()):
            found.append(EUROPE)
        else:
            found.extend(_field_places(part))
    return tuple(found)


@cache
def _cue_pattern(cues: tuple[str, ...]) -> re.Pattern[str]:
    return _compile(cues)


def _cued(text: str, folded: Folded, cues: tuple[str, ...]) -> Iterator[str]:
    """Countries named right after one of `cues`, unless the cue is denied."""
    for cue in _cue_pattern(cues).finditer(folded.text):
        if _NEGATION.search(_clause_before(folded.text, cue.start())):
            continue
        yield from _places_at(text, folded, cue.end())


def _places_at(text: str, folded: Folded, at: int) -> list[str]:
    """The countries of the place phrase that starts at folded offset `at` (after filler
    words such as "the"), or of Europe; [] when something else comes first."""
    rest = folded.text[at : at + _PLACE_WINDOW]
    filler = _FILLER.match(rest)
    gap = filler.end() if filler else 0
    if _europe_pattern().match(rest, gap):
        return [EUROPE]
    if at >= len(folded.origin):
        return []
    start = folded.span(at, at + 1)[0]
    window = text[start : start + _PLACE_WINDOW]
    places = locate(window)
    if not places:
        return []
    # The phrase must start where the filler ends: compare in folded text of the window.
    head = normalise(window[: min(p.start for p in places)]).text
    if _FILLER.fullmatch(head) is None and _LATER_PLACE.fullmatch(head) is None:
        return []
    return [place.country for place in places]


def _after_origins(text: str, folded: Folded) -> Iterator[str]:
    """Destinations joined to an origin: "ships from Lagos to the UK", "从广州到美国"."""
    for cue in _cue_pattern(_FROM_CUES).finditer(folded.text):
        rest_start = cue.end()
        window = folded.text[rest_start : rest_start + _PLACE_WINDOW]
        start = folded.span(rest_start, rest_start + 1)[0] if rest_start < len(text) else 0
        places = locate(text[start : start + _PLACE_WINDOW])
        if not places:
            continue
        end = max(p.end for p in places)
        # Where the origin phrase ends in the folded window.
        end_folded = len(normalise(text[start : start + end]).text)
        joiner = _ROUTE_JOINER.match(window, end_folded)
        if joiner is None:
            continue
        after = rest_start + joiner.end()
        if _worldwide_pattern().match(folded.text, after):
            yield WORLDWIDE
        else:
            yield from _places_at(text, folded, after)


@cache
def _worldwide_pattern() -> re.Pattern[str]:
    return _compile(_WORLDWIDE)


@cache
def _europe_pattern() -> re.Pattern[str]:
    return re.compile(r"(?:" + "|".join(re.escape(fold(e)) for e in _EUROPE) + r")(?!\w)")


def _worldwide(folded: str) -> Iterator[str]:
    if _found(_worldwide_pattern(), folded):
        yield WORLDWIDE
