"""Canonical URL keys: one listing, one key; different listings, different keys."""

from __future__ import annotations

import pytest

from matching.urls import MAX_URL_LENGTH, CanonicalURL, InvalidURL, canonical_url


@pytest.mark.parametrize(
    "url",
    [
        "https://www.ebay.com/itm/123456789012",
        "https://www.ebay.co.uk/itm/Antique-Carved-Netsuke-Figure/123456789012",
        "https://www.ebay.de/itm/123456789012?hash=item1cbe7f2a3c:g:abcAAOSw&_trksid=p2047675.c100",
        "http://m.ebay.com/itm/123456789012/?mkevt=1&mkcid=1&campid=5338&utm_source=share#desc",
        "HTTPS://WWW.EBAY.FR:443/itm/figurine-ancienne/123456789012",
        "https://cgi.ebay.com/ws/eBayISAPI.dll?ViewItem&item=123456789012",
    ],
)
def test_same_ebay_item_across_country_sites_shares_one_key(url: str) -> None:
    assert canonical_url(url).key == "ebay:item:123456789012"


def test_different_ebay_items_have_different_keys() -> None:
    first = canonical_url("https://www.ebay.com/itm/123456789012")
    second = canonical_url("https://www.ebay.com/itm/123456789013")
    assert first.key != second.key


def test_ebay_fields() -> None:
    result = canonical_url("https://www.ebay.co.uk/itm/Netsuke/123456789012?_trksid=p1#x")
    assert result == CanonicalURL(
        key="ebay:item:123456789012",
        url="https://ebay.co.uk/itm/Netsuke/123456789012",
        host="ebay.co.uk",
        platform="ebay",
        suffix="co.uk",
    )


def test_ebay_page_that_is_not_an_item_keeps_its_url_as_key() -> None:
    result = canonical_url("https://www.ebay.com/sch/i.html?_nkw=ivory&utm_medium=x")
    assert result.key == "ebay.com/sch/i.html?_nkw=ivory"
    assert result.platform == "ebay"


def test_facebook_marketplace_item() -> None:
    desktop = canonical_url("https://www.facebook.com/marketplace/item/1234567890123456/")
    mobile = canonical_url(
        "https://m.facebook.com/marketplace/item/1234567890123456/?mibextid=6ojiHh&ref=share"
    )
    assert desktop.key == mobile.key == "facebook:marketplace:1234567890123456"
    assert mobile.platform == "facebook"
    assert mobile.url == "https://facebook.com/marketplace/item/1234567890123456/"


def test_etsy_listing_with_and_without_language_prefix_and_slug() -> None:
    keys = {
        canonical_url(url).key
        for url in (
            "https://www.etsy.com/listing/987654321/carved-bone-pendant",
            "https://www.etsy.com/de/listing/987654321/geschnitzter-anhanger?ref=hp_rv-1",
            "https://www.etsy.com/listing/987654321?click_key=abc&ga_order=most_relevant",
        )
    }
    assert keys == {"etsy:listing:987654321"}


def test_instagram_post_and_reel_share_the_case_sensitive_shortcode() -> None:
    post = canonical_url("https://www.instagram.com/p/CxYz_12-aB/?igshid=MzRlODBiNWFlZA==")
    reel = canonical_url("https://instagram.com/reel/CxYz_12-aB/")
    other = canonical_url("https://instagram.com/p/cxyz_12-ab/")
    assert post.key == reel.key == "instagram:post:CxYz_12-aB"
    assert other.key != post.key


def test_telegram_post_and_web_preview_share_one_key() -> None:
    plain = canonical_url("https://t.me/IvoryDeals/4521")
    preview = canonical_url("https://t.me/s/ivorydeals/4521?single")
    assert plain.key == preview.key == "telegram:ivorydeals/4521"
    assert plain.platform == "telegram"
    assert plain.host == "t.me"
    assert plain.suffix == "me"
    assert canonical_url("https://t.me/c/1234567890/77").key == "telegram:c/1234567890/77"
    assert canonical_url("https://t.me/IvoryDeals/4522").key != plain.key


def test_generic_url_is_cleaned_into_its_key() -> None:
    result = canonical_url(
        "HTTP://Www.Example.COM:80/Shop/Item%7e42?utm_source=fb&b=2&fbclid=IwAR0&a=1&gclid=x#top"
    )
    assert result.url == "http://example.com/Shop/Item~42?a=1&b=2"
    assert result.key == "example.com/Shop/Item~42?a=1&b=2"  # path case is kept
    assert result.platform is None


def test_tracking_parameters_go_and_meaningful_ones_stay() -> None:
    result = canonical_url(
        "https://shop.example.org/view?id=77&page=2&utm_campaign=spring&spm=a2g0o.detail"
        "&mc_eid=123&igshid=abc&si=xyz&ref=feed&q=parrot"
    )
    assert result.url == "https://shop.example.org/view?id=77&page=2&q=parrot"


def test_query_order_and_escapes_do_not_change_the_key() -> None:
    first = canonical_url("https://example.com/a%2fb/caf%C3%A9?y=%7E&x=1")
    second = canonical_url("https://example.com/a%2Fb/café?x=1&y=~")
    assert first.key == second.key == "example.com/a%2Fb/caf%C3%A9?x=1&y=~"


def test_repeated_parameters_keep_their_order() -> None:
    result = canonical_url("https://example.com/s?tag=b&tag=a&c=1")
    assert result.url == "https://example.com/s?c=1&tag=b&tag=a"


def test_http_and_https_and_default_ports_share_a_key_other_ports_do_not() -> None:
    assert (
        canonical_url("http://example.com/x").key
        == canonical_url("https://example.com:443/x").key
        == "example.com/x"
    )
    assert canonical_url("https://example.com:8443/x").key == "example.com:8443/x"


@pytest.mark.parametrize(
    ("url", "host", "shown"),
    [
        ("https://www.ebay.co.uk/", "ebay.co.uk", "ebay.co.uk"),
        ("https://m.olx.co.id/item/abc", "olx.co.id", "olx.co.id"),
        ("https://mobile.twitter.com/x", "twitter.com", "twitter.com"),
        (
            "https://sfbay.craigslist.org/sfc/for/d/x/7712.html",
            "craigslist.org",
            "sfbay.craigslist.org",
        ),
        ("https://m.me/someone", "m.me", "m.me"),  # "m" is the domain here, not a prefix
    ],
)
def test_host_prefixes(url: str, host: str, shown: str) -> None:
    result = canonical_url(url)
    assert result.host == host
    assert result.url.split("/")[2] == shown


def test_platform_is_known_across_country_sites() -> None:
    assert canonical_url("https://www.olx.com.br/anuncio/1").platform == "olx"
    assert canonical_url("https://shopee.vn/product/1/2").platform == "shopee"
    assert canonical_url("https://www.avito.ru/moskva/1").platform == "avito"
    assert canonical_url("https://articulo.mercadolibre.com.mx/MLM-1").suffix == "com.mx"


def test_internationalised_host_becomes_punycode() -> None:
    assert canonical_url("https://Bücher.de/x").host == "xn--bcher-kva.de"
    assert canonical_url("https://xn--bcher-kva.de/x").key == "xn--bcher-kva.de/x"


def test_public_ip_host_is_accepted() -> None:
    result = canonical_url("http://203.0.114.7/shop?id=1")
    assert result.host == "203.0.114.7"
    assert result.suffix == ""


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "ftp://example.com/file",
        "javascript:alert(1)",
        "mailto:seller@example.com",
        "example.com/itm/1",
        "https://",
        "https:///path",
        "https://user:secret@example.com/",
        "https://user@example.com/",
        "https://example.com:99999/",
        "https://example.com:abc/",
        "https://exa mple.com/",
        "https://example.com/a b",
        "https://example.com/\x00",
        "https://evil.example\\@ebay.com/",
        "https://localhost/",
        "http://127.0.0.1/admin",
        "http://10.0.0.8/",
        "https://bad_host!.com/",
        "https://" + "a" * 64 + ".com/",
        "https://example.com/" + "a" * MAX_URL_LENGTH,
    ],
)
def test_invalid_urls_raise(url: str) -> None:
    with pytest.raises(InvalidURL):
        canonical_url(url)


def test_invalid_url_is_a_value_error() -> None:
    assert issubclass(InvalidURL, ValueError)


@pytest.mark.parametrize(
    ("urls", "key"),
    [
        (
            [
                "https://sfbay.craigslist.org/sfc/for/d/san-francisco-carved-tusk/7712345678.html",
                "https://sfbay.craigslist.org/for/7712345678.html?lang=en",
            ],
            "craigslist:post:7712345678",
        ),
        (
            [
                "https://www.olx.co.id/item/sisik-trenggiling-iid-812345678",
                "https://m.olx.co.id/item/iid-812345678?utm_source=wa",
            ],
            "olx.co.id:item:812345678",
        ),
        (
            ["https://www.olx.pl/d/oferta/kosc-sloniowa-CID628-IDabC12.html?reason=x"],
            "olx.pl:item:abC12",
        ),
        (
            [
                "https://articulo.mercadolibre.com.mx/MLM-123456789-colmillo-tallado-_JM",
                "https://www.mercadolibre.com.mx/p/MLM123456789?pdp_filters=x",
            ],
            "mercadolibre:item:MLM123456789",
        ),
        (
            [
                "https://shopee.vn/Vay-te-te-i.12345.67890",
                "https://shopee.vn/product/12345/67890?sp_atk=abc",
            ],
            "shopee.vn:item:12345.67890",
        ),
        (
            [
                "https://item.taobao.com/item.htm?id=600123456789&spm=a21",
                "https://detail.tmall.com/item.htm?spm=x&id=600123456789",
            ],
            "taobao:item:600123456789",
        ),
        (["https://www.goofish.com/item?spm=a&id=712345678901"], "xianyu:item:712345678901"),
        (
            ["https://www.kijiji.ca/v-art-collectibles/city-of-toronto/ivory-carving/1612345678"],
            "kijiji:ad:1612345678",
        ),
        (
            ["https://www.gumtree.com/p/antiques/carved-horn-cup/1471234567"],
            "gumtree.com:ad:1471234567",
        ),
        (
            [
                "https://www.leboncoin.fr/ad/collection/2512345678",
                "https://www.leboncoin.fr/collection/2512345678.htm?ca=12_s",
            ],
            "leboncoin:ad:2512345678",
        ),
        (
            ["https://www.avito.ru/moskva/kollektsionirovanie/bivni_mamonta_2612345678"],
            "avito:item:2612345678",
        ),
    ],
)
def test_marketplace_item_keys(urls: list[str], key: str) -> None:
    assert {canonical_url(url).key for url in urls} == {key}


def test_per_site_identifiers_stay_apart_across_countries() -> None:
    indonesia = canonical_url("https://www.olx.co.id/item/x-iid-812345678").key
    india = canonical_url("https://www.olx.in/item/x-iid-812345678").key
    assert indonesia != india


def test_the_done_when_pair_of_ebay_urls_share_a_key() -> None:
    desktop = "https://www.ebay.co.uk/itm/284512345678?_trksid=p2047675.m570.l2557"
    mobile = "https://m.ebay.co.uk/itm/284512345678"
    assert canonical_url(desktop).key == canonical_url(mobile).key == "ebay:item:284512345678"


@pytest.mark.parametrize(
    "url",
    [
        "https://www.ebay.co.uk/itm/1\u202egpj.exe",  # right-to-left override
        "https://www.ebay.co.uk/itm/12\u200b34",  # zero-width space
        "https://www.ebay.co.uk/itm/1234\u2066",  # left-to-right isolate
        "https://www.ebay.co.uk/itm/1234\ufeff",  # byte-order mark
    ],
)
def test_invisible_characters_are_refused_by_the_canonical_form_itself(url: str) -> None:
    """Not only by the API's schema: the CLI and the bot reach `canonical_url` too."""
    with pytest.raises(InvalidURL, match="invisible"):
        canonical_url(url)
