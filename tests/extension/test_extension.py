"""The browser extension end to end: a real Chromium, the real backend, fixture listings.

Each test opens a fixture marketplace page, opens the extension's preview the way a
context-menu click does (the worker's handler, since a driver cannot click native menus),
and drives the preview like a user: untick an image, opt in to the screenshot, send. What
arrived is read back from the backend's database.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

from db.models import Evidence, Report
from tests.extension.conftest import PAGE_HOST, SITE_HOST, Backend, Browser

FIELDS = ("url", "title", "text", "price", "currency", "seller", "seller_location", "ships_to")


async def tab_id(browser: Browser, url: str) -> int:
    return await browser.worker.evaluate(
        "url => chrome.tabs.query({url}).then(tabs => tabs[0].id)", url
    )


async def open_listing(browser: Browser, url: str) -> int:
    page = await browser.context.new_page()
    await page.goto(url)
    return await tab_id(browser, url)


async def preview_from_menu(browser: Browser, tab: int, menu: str = "MENU_LISTING", **info: Any):
    """What a click on one of the extension's context-menu items opens, ready to use."""
    async with browser.context.expect_page() as opened:
        await browser.worker.evaluate(
            """([id, menu, info]) => chrome.tabs.get(id)
                 .then(tab => wildflag.onMenuClick({menuItemId: wildflag[menu], ...info}, tab))
                 .then(() => true)""",
            [tab, menu, info],
        )
    popup = await opened.value
    await popup.wait_for_selector("body[data-ready=true]", timeout=20_000)
    return popup


async def preview_for_tab(browser: Browser, tab: int):
    """The toolbar popup, opened as a page and pointed at a tab with ?tab=."""
    popup = await browser.context.new_page()
    await popup.goto(browser.url(f"popup.html?tab={tab}"))
    await popup.wait_for_selector("body[data-ready=true]", timeout=20_000)
    return popup


async def form_fields(popup) -> dict[str, str]:
    return {name: await popup.input_value(f"#f-{name}") for name in FIELDS}


async def images(popup) -> list[tuple[str, bool]]:
    """(image path, ticked) as the preview lists them."""
    rows = await popup.eval_on_selector_all(
        "#image-list li",
        "items => items.map(li => [li.dataset.src, li.querySelector('input').checked])",
    )
    return [(src.split("/", 3)[3], ticked) for src, ticked in rows]


async def wait_for(predicate, within: float = 20.0):
    """Polls an async predicate until it returns something truthy."""
    deadline = time.monotonic() + within
    while True:
        value = await predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"not true within {within} s: {predicate}"
        await asyncio.sleep(0.2)


async def storage(browser: Browser, key: str) -> Any:
    return await browser.worker.evaluate(
        "key => chrome.storage.local.get(key).then(items => items[key])", key
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_listing_with_json_ld_is_previewed_checked_sent_and_stored(
    browser: Browser, pages: str, backend: Backend, tmp_path
) -> None:
    listing = f"{pages}/jsonld.html"
    popup = await preview_from_menu(browser, await open_listing(browser, listing))

    assert await form_fields(popup) == {
        "url": listing,
        "title": "Live African grey parrot, hand-reared",
        "text": "Young African grey parrot (Psittacus erithacus), tame, talks. Papers available.",
        "price": "1200",
        "currency": "EUR",
        "seller": "ParrotPalace",
        "seller_location": "Lagos, NG",
        "ships_to": "Worldwide",
    }
    # The listing's photos, largest first; not the 40 px logo, not the related listing far below.
    assert await images(popup) == [("img/main.jpg", True), ("img/side.jpg", True)]
    # Opt-in: a screenshot is offered, unticked; so is the page copy.
    assert await popup.is_checked("#f-screenshot") is False
    assert await popup.is_visible("#screenshot-preview")
    assert await popup.is_checked("#f-snapshot") is False
    assert "anonymously" in await popup.inner_text("#identity")

    await popup.click("#precheck-button")
    await popup.wait_for_selector("#precheck-result ul")
    precheck = await popup.inner_text("#precheck-result")
    assert "Psittacus erithacus" in precheck and "Appendix I" in precheck
    assert "Already reported" not in precheck  # never for anonymous users

    await popup.uncheck("#image-list li:nth-child(2) input")
    await popup.check("#f-screenshot")
    await popup.fill("#f-reporter_country", "fr")
    await popup.fill("#f-notes", "Seen on the front page.")
    await popup.click(".field[data-field=ships_to] .remove")
    await popup.click("#send-button")
    await popup.wait_for_selector("#receipt:not([hidden])")
    reference = await popup.inner_text("#receipt-reference")
    assert reference.startswith("WF-")
    assert "Psittacus erithacus" in await popup.inner_text("#receipt-summary")
    link = await popup.get_attribute("#receipt-link", "href")
    assert link.startswith(f"http://wildflag.test/status/{reference}#receipt=")
    await popup.screenshot(path=str(tmp_path / "receipt.png"))

    (report,) = await backend.peek.rows(Report)
    assert report.reference == reference
    assert report.channel == "extension"
    assert (report.url, report.title, report.price, report.currency) == (
        listing,
        "Live African grey parrot, hand-reared",
        "1200",
        "EUR",
    )
    assert (report.seller, report.seller_location, report.ships_to) == (
        "ParrotPalace",
        "Lagos, NG",
        "",
    )
    assert (report.reporter_country, report.notes) == ("FR", "Seen on the front page.")
    evidence = await backend.peek.rows(Evidence, Evidence.report_id == report.id)
    kinds = sorted(e.kind for e in evidence)
    assert kinds == ["image", "screenshot"]  # the unticked photo stayed behind
    (image,) = [e for e in evidence if e.kind == "image"]
    served = tmp_path / "site" / "img" / "main.jpg"
    assert image.original_sha256 == sha256(served.read_bytes())

    # History in extension storage, with the receipt token, listed in the popup.
    (entry,) = await storage(browser, "history")
    assert entry["reference"] == reference and entry["receipt_token"]
    assert reference in await popup.inner_text("#history-list")

    assert report.status == "routed"
    # Opening the popup again refreshes each report's status with its receipt token.
    await browser.worker.evaluate(
        """ref => chrome.storage.local.get('history').then(({history}) => {
             history[0].status = 'stale'; return chrome.storage.local.set({history}); })""",
        reference,
    )
    again = await browser.context.new_page()
    await again.goto(browser.url("popup.html"))
    await wait_for(
        lambda: again.inner_text(f"#history-list li[data-reference='{reference}']"),
    )

    async def refreshed():
        text = await again.inner_text(f"#history-list li[data-reference='{reference}']")
        return "sent to the competent unit" in text and "stale" not in text

    await wait_for(refreshed)


async def test_microdata_opengraph_and_plain_pages(browser: Browser, pages: str) -> None:
    popup = await preview_for_tab(browser, await open_listing(browser, f"{pages}/microdata.html"))
    fields = await form_fields(popup)
    assert fields["title"] == "Écailles de pangolin 2 kg"
    assert fields["text"].startswith("Écailles de pangolin véritables")
    assert (fields["price"], fields["currency"]) == ("350000", "XOF")
    assert fields["seller"] == "Mamadou_Trade"
    assert fields["seller_location"] == "Abidjan, Côte d’Ivoire"
    assert await images(popup) == [("img/main.jpg", True)]

    popup = await preview_for_tab(browser, await open_listing(browser, f"{pages}/opengraph.html"))
    fields = await form_fields(popup)
    assert fields["title"] == "Antique rhino horn carving"
    assert fields["text"] == "Genuine rhino horn libation cup, old collection."
    assert (fields["price"], fields["currency"]) == ("25000", "USD")
    assert fields["seller"] == "oldcollector88"
    assert (fields["seller_location"], fields["ships_to"]) == ("Hanoi, Vietnam", "Worldwide")
    assert await images(popup) == [("img/main.jpg", True), ("img/side.jpg", True)]

    popup = await preview_for_tab(browser, await open_listing(browser, f"{pages}/plain.html"))
    fields = await form_fields(popup)
    assert fields == {
        "url": f"{pages}/plain.html",
        "title": "My garden blog",
        "text": "",
        "price": "",
        "currency": "",
        "seller": "",
        "seller_location": "",
        "ships_to": "",
    }
    assert await images(popup) == [("img/side.jpg", True)]

    # A marketplace from the site table: its selectors find what no structured data says,
    # and its gallery image outranks a larger picture far down the page.
    listing = f"{pages}/ebay.html".replace(PAGE_HOST, SITE_HOST)
    popup = await preview_for_tab(browser, await open_listing(browser, listing))
    fields = await form_fields(popup)
    assert fields["title"] == "Antique carved ivory bangle, 19th century"
    assert (fields["price"], fields["currency"]) == ("450.00", "GBP")
    assert fields["seller"] == "antiques_uk"
    assert fields["seller_location"] == "Leeds, United Kingdom"
    assert fields["ships_to"] == "United Kingdom, France"
    assert await images(popup) == [("img/side.jpg", True), ("img/main.jpg", False)]


async def test_report_this_image_puts_the_clicked_image_first(browser: Browser, pages: str) -> None:
    tab = await open_listing(browser, f"{pages}/jsonld.html")
    popup = await preview_from_menu(
        browser, tab, "MENU_IMAGE", srcUrl=f"{pages}/img/related.jpg", selectionText="talks"
    )
    assert (await images(popup))[0] == ("img/related.jpg", True)
    assert (await form_fields(popup))["text"].startswith("talks")


async def test_unreachable_backend_queues_and_the_worker_delivers_once(
    browser: Browser, pages: str, backend: Backend
) -> None:
    popup = await preview_from_menu(browser, await open_listing(browser, f"{pages}/opengraph.html"))
    await backend.stop()
    await popup.click("#send-button")
    await popup.wait_for_selector("#queued-notice:not([hidden])")
    await popup.wait_for_selector("#queue:not([hidden]) #queue-list li")
    assert "Antique rhino horn carving" in await popup.inner_text("#queue-list")
    (item,) = await storage(browser, "queue")
    assert item["attempts"] == 1

    # The alarm keeps retrying while the backend is down; nothing is lost meanwhile.
    await asyncio.sleep(2.5)
    (item,) = await storage(browser, "queue")
    assert item["attempts"] >= 2

    await backend.start()
    history = await wait_for(lambda: storage(browser, "history"), within=30)
    assert await storage(browser, "queue") == []
    await popup.wait_for_selector(f"#history-list li[data-reference='{history[0]['reference']}']")
    assert await popup.is_hidden("#queue")
    await asyncio.sleep(2)  # a late second delivery would show up here
    reports = await backend.peek.rows(Report)
    assert [r.reference for r in reports] == [history[0]["reference"]]
    assert len(await backend.peek.rows(Evidence)) == 2  # the two ticked photos, once


async def test_options_save_backend_token_and_language(
    browser: Browser, pages: str, backend: Backend
) -> None:
    options = await browser.context.new_page()
    await options.goto(browser.url("options.html"))
    await options.wait_for_selector("body[data-ready=true]")
    assert await options.input_value("#backend-url") == backend.url  # the build-time default

    token = await backend.peek.token("coordinator", None)
    await options.fill("#backend-url", backend.url + "/")
    await options.fill("#token", token)
    await options.select_option("#language", "fr")
    await options.click("button[type=submit]")
    await options.wait_for_selector("#options-status:text('Enregistré.')")
    settings = await storage(browser, "settings")
    assert settings == {"backendUrl": backend.url, "token": token, "language": "fr"}

    # With the officer token, the preview says so, in French, and a second report of the
    # same listing comes back as already reported.
    listing = f"{pages}/jsonld.html"
    tab = await open_listing(browser, listing)
    for _ in range(2):
        popup = await preview_for_tab(browser, tab)
        assert await popup.inner_text("#identity") == "Envoi avec votre jeton d’agent."
        await popup.click("#send-button")
        await popup.wait_for_selector("#receipt:not([hidden])")
    assert "Déjà signalé" in await popup.inner_text("#receipt-summary")
    history = await storage(browser, "history")
    assert [h["receipt_token"] for h in history] == ["", ""]  # officers have no receipts
    assert len(await backend.peek.rows(Report)) == 2
