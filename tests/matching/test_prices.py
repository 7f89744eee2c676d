"""Prices as sellers write them, products from trade terms, and medians kept per currency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from matching.prices import Price, find_price, median_by_product, parse_price, product_of


@pytest.mark.parametrize(
    ("price", "currency", "amount", "code"),
    [
        ("$1,200", "", "1200", "$"),  # a dollar or a peso: not guessed
        ("US$ 1,200", "", "1200", "USD"),
        ("1.200,50 €", "", "1200.50", "EUR"),
        ("12,50", "eur", "12.50", "EUR"),
        ("12.5", "GBP", "12.5", "GBP"),
        ("R$ 850", "", "850", "BRL"),
        ("450 EUR", "", "450", "EUR"),
        ("£ 1 200", "", "1200", "GBP"),
        ("1'200 CHF", "", "1200", "CHF"),
        ("3万円", "", "30000", "JPY"),
        ("¥3000", "", "3000", "¥"),
        ("1.5k", "USD", "1500", "USD"),
        ("2 triệu đ", "", "2000000", "VND"),
        ("1 200 000 ₫", "", "1200000", "VND"),
        ("50-80", "EUR", "50", "EUR"),  # a range reads as its low end
        ("₦250,000", "", "250000", "NGN"),
        ("500", "", "500", ""),  # no currency named: kept apart, never assumed
        ("300 руб", "", "300", "RUB"),
        ("$120", "AUD", "120", "AUD"),  # the currency field wins over the symbol
    ],
)
def test_parse_price(price: str, currency: str, amount: str, code: str) -> None:
    parsed = parse_price(price, currency)
    assert parsed is not None
    assert parsed.amount == Decimal(amount)
    assert parsed.currency == code


@pytest.mark.parametrize("price", ["", "negotiable", "make an offer", "POA", "0", "free", "0.00"])
def test_no_price(price: str) -> None:
    assert parse_price(price, "USD") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pangolin scales 500 g, 300$ each", Price(Decimal(300), "$")),
        ("weight 2kg, price USD 1,200 ono", Price(Decimal(1200), "USD")),
        ("Défenses d'ivoire 1.200 €", Price(Decimal(1200), "EUR")),
        ("象牙手镯 5000元", Price(Decimal(5000), "CNY")),
        ("ALL 20 pieces, made in 1990, 30 cm", None),  # bare numbers are never prices
        ("500 g of scales, ships in 3 days", None),
    ],
)
def test_find_price_in_text(text: str, expected: Price | None) -> None:
    assert find_price(text) == expected


@pytest.mark.parametrize(
    ("term", "kind", "title", "product"),
    [
        ("pangolin scales", "trade", "", "scales"),
        ("穿山甲片", "trade", "", "scales"),
        ("marfil", "trade", "", "ivory"),
        ("Stoßzähne", "trade", "", "ivory"),
        ("rhino horn", "trade", "", "horn"),
        ("tiger skin", "trade", "", "skin"),
        ("tiger bone wine", "trade", "", "bone"),
        ("African grey parrot", "common", "African grey parrot, live baby", "live"),
        ("Psittacus erithacus", "scientific", "Psittacus erithacus", "unspecified"),
        # A name says which animal; the title says in what form.
        ("elephant", "common", "Elephant figurine", "carvings and jewellery"),
    ],
)
def test_product_of(term: str, kind: str, title: str, product: str) -> None:
    assert product_of(term, kind, title) == product


def test_medians_never_mix_currencies() -> None:
    items = [
        ("Manidae", "scales", Price(Decimal(100), "GBP")),
        ("Manidae", "scales", Price(Decimal(200), "GBP")),
        ("Manidae", "scales", Price(Decimal(900), "GBP")),
        ("Manidae", "scales", Price(Decimal(50), "USD")),
        ("Manidae", "scales", Price(Decimal(70), "USD")),
        ("Panthera tigris", "skin", Price(Decimal(5000), "GBP")),
    ]
    summaries = median_by_product(items)
    assert [(s.taxon, s.product, s.currency, s.count, s.median) for s in summaries] == [
        ("Manidae", "scales", "GBP", 3, Decimal(200)),
        ("Manidae", "scales", "USD", 2, Decimal(60)),
        ("Panthera tigris", "skin", "GBP", 1, Decimal(5000)),
    ]
    assert (summaries[0].low, summaries[0].high) == (Decimal(100), Decimal(900))
