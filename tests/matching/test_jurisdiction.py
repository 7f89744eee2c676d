"""Jurisdiction inference: signals weighed, reasons kept, no guess without evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from matching import jurisdiction
from matching.jurisdiction import (
    _ANY_CURRENCY_MARK,
    _CURRENCY_MARKS,
    CURRENCY_WEIGHT,
    PHONE_WEIGHT,
    REPORTER_COUNTRY_WEIGHT,
    RULES_VERSION,
    SELLER_LOCATION_WEIGHT,
    SIGNAL_TYPES,
    TEXT_LOCATION_WEIGHT,
    URL_CCTLD_WEIGHT,
    Jurisdiction,
    Signal,
    infer_jurisdiction,
    locate,
)
from matching.listing import Listing

PLACES = Path(jurisdiction.__file__).parent / "data" / "places.json"


def reasons(result: Jurisdiction) -> set[tuple[str, str]]:
    return {(signal.signal, signal.country) for signal in result.signals}


def test_cctld_alone() -> None:
    result = infer_jurisdiction(Listing(url="https://www.ebay.co.uk/itm/123456789012"))
    assert result.country == "GB"
    assert result.signals == (Signal("url_cctld", "ebay.co.uk", "GB", URL_CCTLD_WEIGHT),)
    assert 0 < result.confidence < 1


def test_national_second_level_domain_counts() -> None:
    result = infer_jurisdiction(Listing(url="https://listado.mercadolibre.com.co/loro"))
    assert result.country == "CO"


@pytest.mark.parametrize("url", ["https://pangolin-scales.io/shop/1", "https://t.me/deals/5"])
def test_vanity_cctld_gives_no_signal(url: str) -> None:
    result = infer_jurisdiction(Listing(url=url))
    assert result == Jurisdiction(None, 0.0, ())


def test_invalid_url_is_ignored_not_fatal() -> None:
    result = infer_jurisdiction(Listing(url="javascript:alert(1)", seller_location="Kenya"))
    assert result.country == "KE"
    assert reasons(result) == {("seller_location", "KE")}


def test_seller_location_beats_cctld_and_both_are_reasons() -> None:
    result = infer_jurisdiction(
        Listing(url="https://www.ebay.co.uk/itm/123456789012", seller_location="Hamburg, Germany")
    )
    assert result.country == "DE"
    assert reasons(result) == {("seller_location", "DE"), ("url_cctld", "GB")}
    expected = SELLER_LOCATION_WEIGHT / (
        SELLER_LOCATION_WEIGHT + URL_CCTLD_WEIGHT + jurisdiction.UNKNOWN_WEIGHT
    )
    assert result.confidence == pytest.approx(expected, abs=1e-3)


def test_conflict_is_weighed_and_every_side_is_reported() -> None:
    listing = Listing(
        url="https://www.ebay.de/itm/123456789012",
        text="Carved tusk. Ships from Thailand. Contact +66 81 234 5678",
        price="£450",
    )
    result = infer_jurisdiction(listing)
    # TH: text location + phone = 3.5 beats DE (ccTLD) 1.0 and GB (currency) 1.0
    assert result.country == "TH"
    assert reasons(result) == {
        ("text_location", "TH"),
        ("phone", "TH"),
        ("url_cctld", "DE"),
        ("currency", "GB"),
    }
    assert [signal.to_dict() for signal in result.signals if signal.signal == "phone"] == [
        {"signal": "phone", "value": "+66812345678", "country": "TH", "weight": PHONE_WEIGHT}
    ]


def test_tie_is_not_guessed() -> None:
    result = infer_jurisdiction(Listing(url="https://www.ebay.de/itm/123456789012", currency="GBP"))
    assert result.country is None
    assert result.confidence == 0.0
    assert reasons(result) == {("url_cctld", "DE"), ("currency", "GB")}


@pytest.mark.parametrize(
    ("listing", "country"),
    [
        (Listing(currency="GBP"), "GB"),
        (Listing(currency="vnd"), "VN"),
        (Listing(currency="₫"), "VN"),
        (Listing(price="2.500.000 ₫"), "VN"),
        (Listing(text="Giá 3.000.000đ"), "VN"),
        (Listing(text="ราคา ฿1,200"), "TH"),
        (Listing(text="Rp 1.500.000 nego"), "ID"),
        (Listing(text="Only ₱2,500"), "PH"),
        (Listing(text="₦45,000 final"), "NG"),
        (Listing(text="KSh 12,000"), "KE"),
        (Listing(text="R$ 800"), "BR"),
        (Listing(text="asking 3500 MXN"), "MX"),
        (Listing(text="цена 5000 ₽"), "RU"),
        (Listing(text="₹ 9,999"), "IN"),
        (Listing(text="price JPY 20000"), "JP"),
    ],
)
def test_currency(listing: Listing, country: str) -> None:
    result = infer_jurisdiction(listing)
    assert result.country == country
    assert {signal.signal for signal in result.signals} == {"currency"}
    assert all(signal.weight == CURRENCY_WEIGHT for signal in result.signals)


@pytest.mark.parametrize(
    "listing",
    [
        Listing(currency="EUR"),
        Listing(currency="USD"),
        Listing(text="US$ 300, or 280 EUR, or ¥2000, or $50, or €40"),
        Listing(text="ALL 500 pieces, TOP 10"),  # words that look like currency codes
        Listing(text="Made in 1990. Great condition."),
    ],
)
def test_ambiguous_currencies_give_no_signal(listing: Listing) -> None:
    assert infer_jurisdiction(listing) == Jurisdiction(None, 0.0, ())


@pytest.mark.parametrize(
    ("text", "country", "value"),
    [
        ("Zalo +84 912 345 678", "VN", "+84912345678"),
        ("call me +254 712 345678", "KE", "+254712345678"),
        ("WhatsApp: wa.me/2348031234567", "NG", "+2348031234567"),
        ("tel +33 6 12 34 56 78", "FR", "+33612345678"),
    ],
)
def test_phone_numbers(text: str, country: str, value: str) -> None:
    result = infer_jurisdiction(Listing(text=text))
    assert result.country == country
    assert result.signals == (Signal("phone", value, country, PHONE_WEIGHT),)


def test_numbers_without_country_code_are_not_guessed() -> None:
    assert infer_jurisdiction(Listing(text="call 0912 345 678")).country is None


def test_reporter_country_alone_gives_low_confidence() -> None:
    result = infer_jurisdiction(Listing(reporter_country="FR"))
    assert result.country == "FR"
    assert result.signals == (Signal("reporter_country", "FR", "FR", REPORTER_COUNTRY_WEIGHT),)
    assert result.confidence < 0.5
    stronger = infer_jurisdiction(Listing(url="https://www.leboncoin.fr/annonce/1"))
    assert result.confidence < stronger.confidence


def test_reporter_country_loses_to_any_listing_evidence() -> None:
    result = infer_jurisdiction(Listing(url="https://shopee.vn/product/1/2", reporter_country="FR"))
    assert result.country == "VN"
    assert reasons(result) == {("url_cctld", "VN"), ("reporter_country", "FR")}


def test_nothing_gives_no_country() -> None:
    assert infer_jurisdiction(Listing(text="Beautiful carved bangle")) == Jurisdiction(
        None, 0.0, ()
    )
    assert infer_jurisdiction(Listing()) == Jurisdiction(None, 0.0, ())


def test_bare_place_names_in_the_text_are_not_locations() -> None:
    # Species and trade names are full of places; only a location cue makes one a location.
    result = infer_jurisdiction(Listing(text="Madagascar radiated tortoise, Chinese style box"))
    assert result.country is None


@pytest.mark.parametrize(
    ("seller_location", "country"),
    [
        ("Allemagne", "DE"),
        ("Alemania", "DE"),
        ("Deutschland", "DE"),
        ("越南", "VN"),
        ("ベトナム", "VN"),
        ("Việt Nam", "VN"),
        ("Viet Nam", "VN"),
        ("Hong Kong", "HK"),
        ("香港", "HK"),
        ("UK", "GB"),
        ("USA", "US"),
        ("Côte d’Ivoire", "CI"),
        ("Россия", "RU"),
        ("ประเทศไทย", "TH"),
        ("Hanoi", "VN"),
        ("Lagos", "NG"),
        ("Kuala Lumpur", "MY"),
        ("Hanoi, Viet Nam", "VN"),
        ("London, Ontario", "CA"),  # a region named with a city beats the city
        ("Santa Fe, New Mexico", "US"),  # the longer name wins over "Mexico"
        ("FR", "FR"),
    ],
)
def test_seller_location_names(seller_location: str, country: str) -> None:
    result = infer_jurisdiction(Listing(seller_location=seller_location))
    assert result.country == country
    assert [signal.signal for signal in result.signals] == ["seller_location"]
    assert result.signals[0].weight == SELLER_LOCATION_WEIGHT


@pytest.mark.parametrize("seller_location", ["Georgia", "Congo", "Nationwide", "my house", "us"])
def test_ambiguous_or_unknown_locations_give_no_signal(seller_location: str) -> None:
    assert infer_jurisdiction(Listing(seller_location=seller_location)).country is None


def test_decomposed_accents_are_read_like_composed_ones() -> None:
    hanoi = "Ha\u0300 No\u0323i"  # "Hà Nội" as some keyboards type it (NFD)
    assert infer_jurisdiction(Listing(seller_location=hanoi)).country == "VN"
    assert infer_jurisdiction(Listing(text="Ship từ " + hanoi)).country == "VN"


def test_seller_location_keeps_the_words_as_written() -> None:
    result = infer_jurisdiction(Listing(seller_location="Quận 1, Hồ Chí Minh"))
    assert result.signals == (
        Signal("seller_location", "Hồ Chí Minh", "VN", SELLER_LOCATION_WEIGHT),
    )


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("Ivory bangle, ships from the USA to anywhere", "US"),
        ("Expédié depuis le Cameroun", "CM"),
        ("Envío desde España", "ES"),
        ("Versand aus Österreich", "AT"),
        ("Dikirim dari Surabaya", "ID"),
        ("发货地：越南", "VN"),
        ("Location: Hanoi, Vietnam. Ship worldwide to USA", "VN"),
        ("Carving\nItem location: Bangkok\nPrice on request", "TH"),
    ],
)
def test_location_cues_in_the_text(text: str, country: str) -> None:
    result = infer_jurisdiction(Listing(text=text))
    assert result.country == country
    assert [signal.signal for signal in result.signals] == ["text_location"]
    assert result.signals[0].weight == TEXT_LOCATION_WEIGHT


def test_location_cue_needs_the_place_right_after_it() -> None:
    result = infer_jurisdiction(Listing(text="Ships from our farm, shipping to Germany"))
    assert result.country is None


def test_platform_sites_of_one_country() -> None:
    assert infer_jurisdiction(Listing(url="https://item.taobao.com/item.htm?id=1")).country == "CN"
    assert infer_jurisdiction(Listing(url="https://sfbay.craigslist.org/p/1.html")).country == "US"
    london = infer_jurisdiction(Listing(url="https://london.craigslist.org/p/1.html"))
    assert london.country == "GB"
    assert reasons(london) == {("platform_site", "GB")}


def test_signals_vote_once_per_country_and_type() -> None:
    result = infer_jurisdiction(
        Listing(text="+84 912 345 678 or +84 913 456 789, price 500000 VND, ₫")
    )
    assert [(signal.signal, signal.country) for signal in result.signals] == [
        ("currency", "VN"),
        ("phone", "VN"),
    ]


def test_confidence_grows_with_agreeing_evidence() -> None:
    one = infer_jurisdiction(Listing(url="https://shopee.vn/p/1"))
    two = infer_jurisdiction(Listing(url="https://shopee.vn/p/1", currency="VND"))
    three = infer_jurisdiction(
        Listing(url="https://shopee.vn/p/1", currency="VND", seller_location="Hà Nội")
    )
    assert one.country == two.country == three.country == "VN"
    assert one.confidence < two.confidence < three.confidence < 1


def test_signal_to_dict_has_exactly_the_contract_keys() -> None:
    assert Signal("currency", "GBP", "GB", 1.0).to_dict() == {
        "signal": "currency",
        "value": "GBP",
        "country": "GB",
        "weight": 1.0,
    }


def test_registry_names_are_unique_and_weights_ordered() -> None:
    names = [signal_type.name for signal_type in SIGNAL_TYPES]
    assert len(names) == len(set(names))
    weights = {signal_type.name: signal_type.weight for signal_type in SIGNAL_TYPES}
    assert weights["seller_location"] > weights["url_cctld"]
    assert weights["seller_location"] > weights["platform_site"]
    assert min(weights.values()) == weights["reporter_country"]
    assert list(weights.values()).count(weights["reporter_country"]) == 1
    assert RULES_VERSION


def test_every_curated_place_resolves_to_its_own_country() -> None:
    data = json.loads(PLACES.read_text("utf-8"))
    wrong = [
        (section, country, name, locate(name))
        for section in ("aliases", "regions", "cities")
        for country, names in data[section].items()
        for name in names
        if [place.country for place in locate(name)] != [country]
    ]
    assert wrong == []
    for name in data["ambiguous"]:
        assert locate(name) == ()


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("Zanne di facocero antiche. Torino, ritiro a mano", "IT"),
        ("Pembe za ndovu, Dar es Salaam", "TZ"),
        ("Ivoren netsuke, 120 euro. Rotterdam", "NL"),
        ("象牙手镯 大阪府", "JP"),
    ],
)
def test_a_place_named_in_passing_is_a_weak_signal(text: str, country: str) -> None:
    result = infer_jurisdiction(Listing(text=text, reporter_country="GB"))
    assert result.country == country
    assert ("text_place", country) in reasons(result)


def test_a_place_inside_a_longer_name_is_not_a_location() -> None:
    result = infer_jurisdiction(Listing(text="Java sparrow pair and Madagascar tree boa"))
    assert result.country is None and result.signals == ()


def test_a_place_in_passing_does_not_outweigh_a_country_site() -> None:
    result = infer_jurisdiction(
        Listing(url="https://www.ebay.de/itm/123456789012", text="Antique from Kenya.")
    )
    assert result.country == "DE"


@pytest.mark.parametrize(
    "text",
    [
        "£5", "5đ", "100 vnđ", "฿200", "5 บาท", "₱9", "₦9", "₹9", "₽9", "5 руб", "₴9", "5 грн",
        "₩9", "5 원", "₺9", "₸9", "₲9", "₭9", "៛9", "₮9", "₾9", "₼9", "֏9", "৳9", "₡9", "5 円",
        "R$ 9", "HK$9", "NT$9", "S$9", "A$9", "AU$9", "NZ$9", "CA$9", "MX$9", "Rp. 9", "RM 9",
        "KSh 9", "Ksh.9", "5 zł", "5 Kč",
    ],
)  # fmt: skip
def test_every_currency_mark_passes_the_quick_search(text: str) -> None:
    assert any(pattern.search(text) for pattern, _ in _CURRENCY_MARKS), text
    assert _ANY_CURRENCY_MARK.search(text), text
