"""Shipping methods, packaging and routes read from listing text, in several languages."""

from __future__ import annotations

import pytest

from matching.shipping import (
    EUROPE,
    NO_SHIPPING,
    UNKNOWN,
    WORLDWIDE,
    place_label,
    read_shipping,
    route_label,
)


@pytest.mark.parametrize(
    ("text", "mentions", "routes"),
    [
        (
            "Genuine pangolin scales, ships from Lagos to worldwide via DHL, discreet packaging",
            {"DHL", "discreet packaging"},
            {("NG", WORLDWIDE)},
        ),
        (
            "Envío desde Lima a todo el mundo por FedEx, embalaje discreto, sin aduana",
            {"FedEx", "discreet packaging", "avoids customs"},
            {("PE", WORLDWIDE)},
        ),
        (
            "发货地：广州 顺丰包邮 保密发货 全球",
            {"SF Express", "discreet packaging"},
            {("CN", WORLDWIDE)},
        ),
        (
            "Отправка из Москвы, доставка по всему миру, СДЭК",
            {"CDEK"},
            {("RU", WORLDWIDE)},
        ),
        (
            "Versand nach Deutschland und Österreich, diskreter Versand",
            {"discreet packaging"},
            {(UNKNOWN, "DE"), (UNKNOWN, "AT")},
        ),
        (
            "livraison en France, envoi discret par la poste",
            {"post", "discreet packaging"},
            {(UNKNOWN, "FR")},
        ),
        (
            "We ship from Hong Kong or Macau to the USA by EMS",
            {"EMS"},
            {("HK", "US"), ("MO", "US")},
        ),
        ("ships from Chittagong, Bangladesh", set(), {("BD", UNKNOWN)}),
        ("Ivory bangle, shipping to Europe by UPS", {"UPS"}, {(UNKNOWN, EUROPE)}),
    ],
)
def test_methods_and_routes(text: str, mentions: set[str], routes: set[tuple[str, str]]) -> None:
    found = read_shipping(text)
    assert set(found.mentions) == mentions
    assert set(found.routes) == routes


@pytest.mark.parametrize(
    "text",
    [
        "Pickup only, no shipping. Located in Bangkok",
        "Local pickup only",
        "Solo recogida en mano, no hago envíos",
        "Nur Abholung, kein Versand",
        "Remise en main propre uniquement",
        "仅自提",
        "Только самовывоз",
    ],
)
def test_no_shipping(text: str) -> None:
    found = read_shipping(text)
    assert found.no_shipping
    assert NO_SHIPPING in found.mentions
    assert found.routes == ()  # a local sale has no route, wherever it is


def test_location_of_a_local_sale_is_still_read() -> None:
    assert read_shipping("Pickup only, no shipping. Located in Bangkok").origins == ("TH",)


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("No international shipping. Ships to UK only", WORLDWIDE),
        ("We do not ship to Australia, ships to the USA", "AU"),
        ("International shipping not available", WORLDWIDE),
    ],
)
def test_denied_destinations_name_nothing(text: str, absent: str) -> None:
    found = read_shipping(text)
    assert absent not in found.destinations
    assert not found.no_shipping  # refusing one destination is not refusing to ship


@pytest.mark.parametrize(
    "text",
    [
        "ups and downs of the market",  # lower case: a word, not the courier
        "no discreet packaging needed",
        "Hermes crocodile bag",  # the fashion house, not the courier
        "Madagascar radiated tortoise",  # a place in a name is no route
    ],
)
def test_says_nothing_when_nothing_is_said(text: str) -> None:
    found = read_shipping(text)
    assert found.mentions == ()
    assert found.routes == ()


def test_fields() -> None:
    found = read_shipping("", seller_location="Hanoi", ships_to="US, CA")
    assert found.routes == (("VN", "US"), ("VN", "CA"))
    assert read_shipping("", seller_location="NG", ships_to="Worldwide").routes == (
        ("NG", WORLDWIDE),
    )
    assert read_shipping("", ships_to="EU").routes == ((UNKNOWN, EUROPE),)


def test_labels() -> None:
    assert route_label(("NG", WORLDWIDE)) == "NG → worldwide"
    assert route_label((UNKNOWN, "GB")) == "? → GB"
    assert place_label("VN") == "Vietnam"  # the common name where pycountry has one
    assert place_label(EUROPE) == "Europe"
