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
    PHONE_NATIONAL_WEIGHT,
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


def test_reporter_country_alone_names_no_country() -> None:
    # Reporters report sellers abroad as often as next door: the reason is kept, not followed.
    result = infer_jurisdiction(Listing(reporter_country="FR", text="Live slow loris, DM me"))
    assert result.country is None
    assert result.signals == (Signal("reporter_country", "FR", "FR", REPORTER_COUNTRY_WEIGHT),)


def test_reporter_country_adds_to_a_country_the_listing_names() -> None:
    result = infer_jurisdiction(
        Listing(url="https://www.leboncoin.fr/annonce/1", reporter_country="FR")
    )
    alone = infer_jurisdiction(Listing(url="https://www.leboncoin.fr/annonce/1"))
    assert result.country == alone.country == "FR"
    assert result.confidence > alone.confidence


def test_a_reporter_elsewhere_does_not_cast_doubt_on_the_listing() -> None:
    # MX 0.5 (a place in passing) against US 0.25 (the reporter only): the listing decides.
    result = infer_jurisdiction(
        Listing(
            text="Vendo caparazón de tortuga carey, Cancún, Quintana Roo", reporter_country="US"
        )
    )
    assert result.country == "MX"


def test_weak_signals_that_conflict_leave_it_unassigned() -> None:
    # DE: the site and the reporter (1.25) against GB: the currency (1.0). Not a clear lead.
    result = infer_jurisdiction(
        Listing(url="https://www.ebay.de/itm/123456789012", price="£450", reporter_country="DE")
    )
    assert result.country is None
    assert reasons(result) == {("url_cctld", "DE"), ("currency", "GB"), ("reporter_country", "DE")}
    assert jurisdiction.MIN_LEAD > REPORTER_COUNTRY_WEIGHT


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


# --- national phone numbers ---------------------------------------------------------------


def test_a_national_number_confirms_a_country_another_signal_named() -> None:
    result = infer_jurisdiction(Listing(text="Shingleback lizards, Adelaide pickup, 0412 345 678"))
    assert result.country == "AU"
    assert Signal("phone", "+61412345678", "AU", PHONE_NATIONAL_WEIGHT) in result.signals
    moroccan = infer_jurisdiction(
        Listing(text="Peau de singe magot, contact 0612345678", seller_location="Fès")
    )
    assert ("phone", "MA") in reasons(moroccan)


@pytest.mark.parametrize(
    "listing",
    [
        Listing(text="call 0912 345 678"),
        Listing(text="call 0912 345 678", reporter_country="VN"),  # the reporter names none
    ],
)
def test_a_national_number_never_names_a_country_by_itself(listing: Listing) -> None:
    result = infer_jurisdiction(listing)
    assert result.country is None
    assert "phone" not in {signal.signal for signal in result.signals}


def test_a_national_number_counts_only_where_it_is_valid() -> None:
    # 0912 345 678 is a Vietnamese mobile, not a British number.
    result = infer_jurisdiction(
        Listing(url="https://www.ebay.co.uk/itm/123456789012", text="call 0912 345 678")
    )
    assert reasons(result) == {("url_cctld", "GB")}


def test_the_national_pass_stays_cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    parse = jurisdiction.phonenumbers.parse

    def counting_parse(number: str, region: str | None = None) -> object:
        calls.append(number)
        return parse(number, region)

    monkeypatch.setattr(jurisdiction.phonenumbers, "parse", counting_parse)
    # No country named: no pass. A country but no run of digits as long as a phone: no pass.
    infer_jurisdiction(Listing(text="call 0912 345 678"))
    infer_jurisdiction(Listing(url="https://www.ebay.de/itm/1", text="Preis 12.000, Tel. 1234"))
    assert calls == []
    result = infer_jurisdiction(Listing(url="https://www.ebay.de/itm/1", text="Tel. 0171 2345678"))
    assert calls == ["0171 2345678"]
    assert ("phone", "DE") in reasons(result)


# --- places --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("Рог сайгака, отправка из России", "RU"),
        ("Отправка из Москвы", "RU"),
        ("Доставка из Вьетнама", "VN"),
        ("Lokalizacja: w Warszawie", "PL"),
        ("Ships from: Krakowie", "PL"),
        ("Location: v Praze", "CZ"),
        ("Sijainti: Helsingissä", "FI"),
        ("Standort: İstanbul'da", "TR"),
    ],
)
def test_inflected_place_names_after_a_cue(text: str, country: str) -> None:
    result = infer_jurisdiction(Listing(text=text))
    assert result.country == country
    assert reasons(result) == {("text_location", country)}


@pytest.mark.parametrize(
    ("seller_location", "country"),
    [
        ("в Москве", "RU"),
        ("w Warszawie", "PL"),
        ("v Praze", "CZ"),
        ("Suomessa", "FI"),
        ("Києві", "UA"),
        ("Winnipeg", "CA"),
        ("Chittagong", "BD"),
        ("Cancún", "MX"),
        ("Fès", "MA"),
        ("Lahore", "PK"),
        ("Wuhan", "CN"),
        ("重庆", "CN"),
        ("Новосибирск", "RU"),
        ("Tehran", "IR"),
        ("Kinshasa", "CD"),
        ("Hong Kong Island", "HK"),  # not Iceland's German name
    ],
)
def test_large_cities_and_case_forms(seller_location: str, country: str) -> None:
    result = infer_jurisdiction(Listing(seller_location=seller_location))
    assert result.country == country
    assert reasons(result) == {("seller_location", country)}


@pytest.mark.parametrize(
    "seller_location", ["Hyderabad", "Valencia", "Perth", "Santiago", "Borneo", "Kingston"]
)
def test_cities_several_countries_share_stay_ambiguous(seller_location: str) -> None:
    assert infer_jurisdiction(Listing(seller_location=seller_location)).signals == ()


def test_places_offered_as_alternatives_are_all_read() -> None:
    result = infer_jurisdiction(Listing(text="Ivory chopsticks, ships from Hong Kong or Macau"))
    assert result.country is None
    assert reasons(result) == {("text_location", "HK"), ("text_location", "MO")}
    same = infer_jurisdiction(Listing(text="Ships from Hanoi or Saigon"))
    assert same.country == "VN"
    in_passing = infer_jurisdiction(Listing(text="Ivory netsuke, London or Paris"))
    assert in_passing.country is None
    assert reasons(in_passing) == {("text_place", "GB"), ("text_place", "FR")}


def test_a_cue_may_name_an_unknown_town_before_the_country() -> None:
    result = infer_jurisdiction(Listing(text="Tokay gecko, ships from Sreemangal, Bangladesh."))
    assert result.country == "BD"
    assert reasons(result) == {("text_location", "BD")}


def test_a_place_followed_by_a_word_that_means_here_is_a_location() -> None:
    result = infer_jurisdiction(Listing(text="Ivory figurine, Lyon pickup"))
    assert reasons(result) == {("text_place", "FR")}


@pytest.mark.parametrize(
    "text",
    [
        "Wild Turkey feathers, Turkey",
        "Call Jordan.",
        "Fine bone China",
        "Red Fez",
        "Rhino horn cup, China or Japan",  # the word leaves its whole phrase in doubt
    ],
)
def test_place_names_that_are_everyday_words_are_not_read_in_passing(text: str) -> None:
    assert infer_jurisdiction(Listing(text=text)).signals == ()


def test_place_names_that_are_everyday_words_are_read_where_the_seller_says_so() -> None:
    assert infer_jurisdiction(Listing(seller_location="Turkey")).country == "TR"
    assert infer_jurisdiction(Listing(text="Ships from Turkey")).country == "TR"


def test_a_katakana_name_inside_a_longer_word_is_not_a_place() -> None:
    # タイマイ is the hawksbill turtle, not Thailand (タイ); タイ産 is "made in Thailand".
    hawksbill = infer_jurisdiction(Listing(text="べっ甲 かんざし 本鼈甲 タイマイ 箱付き"))
    assert hawksbill.signals == ()
    assert reasons(infer_jurisdiction(Listing(text="象牙 タイ産"))) == {("text_place", "TH")}


@pytest.mark.parametrize(
    ("url", "country"),
    [
        ("https://winnipeg.craigslist.org/for/d/rug/1.html", "CA"),
        ("https://hongkong.craigslist.org/for/d/ivory/1.html", "HK"),
        ("https://mexicocity.craigslist.org/for/d/piel/1.html", "MX"),
        ("https://londonon.craigslist.org/for/d/pelt/1.html", "CA"),
        ("https://tampa.craigslist.org/hil/clt/d/tooth/1.html", "US"),
        ("https://sfbay.craigslist.org/p/1.html", "US"),
    ],
)
def test_craigslist_city_subdomains_abroad(url: str, country: str) -> None:
    result = infer_jurisdiction(Listing(url=url))
    assert result.country == country
    assert reasons(result) == {("platform_site", country)}


def test_a_craigslist_city_several_countries_share_is_not_the_us() -> None:
    result = infer_jurisdiction(Listing(url="https://hyderabad.craigslist.org/p/1.html"))
    assert result == Jurisdiction(None, 0.0, ())


def test_a_shared_currency_puts_a_place_in_passing_in_doubt() -> None:
    # "$" is no French currency: Paris, Texas? A place in passing alone is not enough.
    doubtful = infer_jurisdiction(Listing(text="Amazon parrots, Paris pickup, $900"))
    assert doubtful.country is None
    assert doubtful.signals == (Signal("text_place", "Paris", "FR", 0.0),)
    assert jurisdiction.weigh(doubtful.signals).country is None  # still so within a case
    assert infer_jurisdiction(Listing(text="Amazon parrots, Paris pickup, 900 €")).country == "FR"
    # Stronger evidence is not put in doubt by it.
    stated = infer_jurisdiction(Listing(text="Parrots, $900", seller_location="Paris"))
    assert stated.country == "FR"


def test_place_data_forms_and_common_words_resolve() -> None:
    data = json.loads(PLACES.read_text("utf-8"))
    for name, forms in data["forms"].items():
        base = [place.country for place in locate(name)]
        assert len(base) == 1, name
        for form in forms:
            assert [place.country for place in locate(form)] == base, form
    for name in data["common_words"]:
        assert len(locate(name)) == 1, name
