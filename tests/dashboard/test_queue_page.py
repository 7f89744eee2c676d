"""The queue: scope, Appendix I first, every filter, search, counts, paging and escaping."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

from sqlmodel import update

from db.engine import create_engine, session_factory
from db.models import Case
from extension_backend.dashboard import queue
from extension_backend.settings import Settings
from tests.dashboard.conftest import case_of, report

ROW = re.compile(r'data-case="(\d+)"')


def shown(html: str) -> list[int]:
    """The case ids of the queue's rows, in order."""
    return [int(found) for found in ROW.findall(html)]


def total(html: str) -> int:
    return int(re.search(r'class="queue-total"><strong>(\d+)</strong>', html).group(1))


def datalist(html: str, name: str) -> list[str]:
    block = re.search(rf'<datalist id="queue-{name}">(.*?)</datalist>', html, re.S).group(1)
    return [unescape(v) for v in re.findall(r'<option value="([^"]*)">', block)]


def facet(html: str, name: str) -> dict[str, int]:
    """The summary bar for `name` ("priority", "status") as {value: count}."""
    block = re.search(rf'aria-label="By {name}">(.*?)</ul>', html, re.S).group(1)
    return {
        value: int(count)
        for value, count in re.findall(rf"[?;]{name}=(\w+)[^>]*>.*?(\d+)</a>", block, re.S)
    }


async def change(settings: Settings, case_id: int, **values: Any) -> None:
    """Set columns of a case directly (states, dates) to build a queue quickly."""
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            await session.exec(update(Case).where(Case.id == case_id).values(**values))
            await session.commit()
    finally:
        await engine.dispose()


async def gb_case(dash, settings, n: int, **fields: Any) -> tuple[int, str]:
    """A case routed to GB (an eBay UK listing); its id and its report's reference."""
    answer = await report(dash, url=f"https://www.ebay.co.uk/itm/{1000000 + n}", **fields)
    assert answer["routed_to"] == ["GB"], answer
    return await case_of(settings, answer["reference"]), answer["reference"]


async def fr_case(dash, settings) -> int:
    answer = await report(
        dash,
        url="https://www.leboncoin.fr/annonce/123456",
        title="Perroquet gris du Gabon",
        text="African grey parrot chicks, hand reared, Lyon",
        reporter_country="FR",
    )
    assert answer["routed_to"] == ["FR"], answer
    return await case_of(settings, answer["reference"])


async def four_priorities(dash, settings) -> dict[str, int]:
    """One GB case per priority, made least urgent first (so the newest is the most urgent
    only by accident of order: the test below reverses it too)."""
    made = {}
    for n, (name, text) in enumerate(
        [
            ("review", "Old wooden chair, collection only"),
            ("normal", "Walrus ivory carving, antique"),
            ("high", "Reticulated python skin, 3 m"),
            ("critical", "Genuine pangolin scales, 500 g"),
        ]
    ):
        made[name], _ = await gb_case(dash, settings, n, title=text, text=text)
    return made


async def test_an_officer_sees_only_their_units_cases_lists_counts_and_suggestions(
    dash, browser, settings
):
    gb, _ = await gb_case(dash, settings, 1)
    fr = await fr_case(dash, settings)
    officer = await browser("officer", "GB")
    response, html = await officer.get("/app")
    assert response.status == 200
    assert shown(html) == [gb] and total(html) == 1
    assert sum(facet(html, "priority").values()) == 1
    assert sum(facet(html, "status").values()) == 1
    assert "Manidae" in datalist(html, "taxa")
    assert not {"Psittacus erithacus", "Psittacidae", "Aves"} & set(datalist(html, "taxa"))
    assert datalist(html, "countries") == ["GB"]
    assert all("leboncoin" not in p for p in datalist(html, "platforms"))
    assert 'name="unit"' not in html  # one unit's person has no unit filter
    # Asking for the other unit's case by filter or id shows nothing either.
    for query in ("country=FR", "unit=FR", f"q=%23{fr}", "taxon=Psittacidae"):
        _, html = await officer.get(f"/app?{query}")
        assert shown(html) == [] and total(html) == 0, query

    coordinator = await browser("coordinator")
    _, html = await coordinator.get("/app")
    assert sorted(shown(html)) == sorted([gb, fr]) and total(html) == 2
    assert {"Manidae", "Psittacus erithacus"} <= set(datalist(html, "taxa"))
    assert datalist(html, "countries") == ["FR", "GB"]
    assert 'name="unit"' in html
    _, html = await coordinator.get("/app?unit=FR")
    assert shown(html) == [fr]


async def test_appendix_i_first_then_most_recently_updated(dash, browser, settings):
    made = await four_priorities(dash, settings)
    another_critical, _ = await gb_case(
        dash, settings, 9, title="Rhino horn powder", text="Rhino horn powder, 50 g"
    )
    officer = await browser("officer", "GB")
    _, html = await officer.get("/app")
    assert shown(html) == [
        another_critical,  # both critical: the more recently updated first
        made["critical"],
        made["high"],
        made["normal"],
        made["review"],
    ]
    # Updating the older critical case brings it above the other; priority still rules.
    later = datetime.now(UTC) + timedelta(minutes=1)
    await change(settings, made["critical"], updated_at=later)
    await change(settings, made["review"], updated_at=later + timedelta(minutes=1))
    _, html = await officer.get("/app")
    assert shown(html)[:2] == [made["critical"], another_critical]
    assert shown(html)[-1] == made["review"]
    assert '<span class="badge critical">critical</span>' in html
    assert "Manis" in html or "Manidae" in html  # the species column
    assert "Malayopython reticulatus" in html


async def test_each_filter_narrows(dash, browser, settings):
    made = await four_priorities(dash, settings)
    officer = await browser("officer", "GB")
    colleague = await browser("officer", "GB", email="bob@units.example", name="Bob")
    await change(settings, made["high"], status="triaged", assigned_account_id=officer.account.id)
    await change(settings, made["normal"], status="closed", outcome="removed")
    await change(settings, made["review"], assigned_account_id=colleague.account.id)
    old = datetime(2025, 3, 10, 12, tzinfo=UTC)
    await change(settings, made["review"], created_at=old)
    everything = sorted(made.values())

    async def ids(query: str) -> list[int]:
        response, html = await officer.get(f"/app?{query}")
        assert response.status == 200, (query, html)
        return sorted(shown(html))

    assert await ids("") == everything
    assert await ids("priority=critical") == [made["critical"]]
    assert await ids("priority=review") == [made["review"]]
    assert await ids("status=triaged") == [made["high"]]
    assert await ids("status=closed") == [made["normal"]]
    assert await ids("status=open") == sorted(set(everything) - {made["normal"]})
    assert await ids("status=new") == sorted([made["critical"], made["review"]])
    assert await ids("taxon=Manidae") == [made["critical"]]  # a family
    assert await ids("taxon=Reptilia") == [made["high"]]  # a class
    assert await ids("taxon=Malayopython") == [made["high"]]  # a genus names its species
    assert await ids("taxon=Odobenus+rosmarus") == [made["normal"]]  # a species
    assert await ids("taxon=Felidae") == []
    assert await ids("country=gb") == everything
    assert await ids("country=FR") == []
    assert await ids("channel=api") == everything
    assert await ids("channel=bot") == []
    assert await ids("assigned=me") == [made["high"]]
    assert await ids(f"assigned={colleague.account.id}") == [made["review"]]
    assert await ids("assigned=none") == sorted([made["critical"], made["normal"]])
    assert await ids("since=2025-03-10&until=2025-03-10") == [made["review"]]
    assert await ids("since=2025-03-11") == sorted(set(everything) - {made["review"]})
    assert await ids("until=2025-03-09") == []
    assert await ids("priority=critical&status=closed") == []
    _, html = await officer.get("/app")
    platforms = datalist(html, "platforms")
    assert platforms, "the eBay listings give the datalist a platform"
    assert await ids(f"platform={platforms[0]}") == everything
    assert await ids("platform=nowhere") == []
    # The form keeps what was asked, and "assigned" offers the unit's people.
    _, html = await officer.get("/app?priority=high&taxon=Reptilia&assigned=me")
    assert '<option value="high" selected>' in html
    assert 'name="taxon" value="Reptilia"' in html
    assert '<option value="me" selected>' in html
    assert f'<option value="{colleague.account.id}">Bob (GB)</option>' in html


async def test_counts_per_priority_and_status_follow_the_other_filters(dash, browser, settings):
    made = await four_priorities(dash, settings)
    await change(settings, made["high"], status="triaged")
    officer = await browser("officer", "GB")
    _, html = await officer.get("/app")
    assert total(html) == 4
    assert facet(html, "priority") == {"critical": 1, "high": 1, "normal": 1, "review": 1}
    assert facet(html, "status")["new"] == 3 and facet(html, "status")["triaged"] == 1
    _, html = await officer.get("/app?status=new")
    assert total(html) == 3
    assert facet(html, "priority")["high"] == 0  # the triaged case is filtered out
    assert facet(html, "status")["triaged"] == 1  # but the status bar offers to switch
    # Clicking a count adds that filter and keeps the others.
    assert 'href="/app?status=new&amp;priority=critical"' in html


async def test_search_by_words_reference_and_case_id(dash, browser, settings):
    pangolin, reference = await gb_case(
        dash, settings, 1, text="Scales 500 g", seller="reptile_house_uk"
    )
    python, _ = await gb_case(
        dash, settings, 2, title="Reticulated python skin", text="Reticulated python skin, 3 m"
    )
    officer = await browser("officer", "GB")

    async def ids(q: str) -> list[int]:
        response, html = await officer.get("/app", params={"q": q})
        assert response.status == 200
        return sorted(shown(html))

    assert await ids("PYTHON SKIN") == [python]
    assert await ids("reptile_house") == [pangolin]  # the seller
    assert await ids("itm/1000002") == [python]  # the URL
    assert await ids(reference) == [pangolin]
    assert await ids(reference.lower()) == [pangolin]
    assert await ids(f"#{python}") == [python]
    assert await ids("100%") == []  # LIKE wildcards are searched for, not obeyed
    assert await ids("nothing like this") == []
    _, html = await officer.get("/app", params={"q": "nothing like this"})
    assert "No case matches these filters." in html


async def test_bad_filters_answer_400_pages(browser):
    officer = await browser("officer", "GB")
    for query in (
        "status=lost",
        "priority=urgent",
        "channel=fax",
        "country=GBR",
        "since=yesterday",
        "assigned=everyone",
        "page=0",
        "page=two",
        "q=" + "x" * 201,
    ):
        response, html = await officer.get(f"/app?{query}")
        assert response.status == 400, query
        assert response.content_type == "text/html" and "That did not work" in html


async def test_pages_keep_the_filters(dash, browser, settings, monkeypatch):
    monkeypatch.setattr(queue, "PAGE_SIZE", 2)
    critical = [
        (await gb_case(dash, settings, n, title=f"Pangolin scales lot {n}"))[0] for n in range(5)
    ]
    await gb_case(
        dash, settings, 9, title="Reticulated python skin", text="Reticulated python skin, 3 m"
    )
    officer = await browser("officer", "GB")
    _, html = await officer.get("/app?priority=critical&q=pangolin")
    assert total(html) == 5 and len(shown(html)) == 2 and "page 1 of 3" in html
    seen = shown(html)
    assert 'rel="prev"' not in html
    while 'rel="next"' in html:
        link = unescape(re.search(r'rel="next" href="([^"]+)"', html).group(1))
        assert "priority=critical" in link and "q=pangolin" in link
        _, html = await officer.get(link)
        seen += shown(html)
        assert 'rel="prev"' in html
        back = unescape(re.search(r'rel="prev" href="([^"]+)"', html).group(1))
        assert "priority=critical" in back and "q=pangolin" in back
    assert seen == sorted(critical, reverse=True) and "page 3 of 3" in html
    response, html = await officer.get("/app?priority=critical&page=40")
    assert response.status == 200 and shown(html) == []


async def test_what_sellers_wrote_is_escaped(dash, browser, settings):
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    await gb_case(dash, settings, 1, title=f"Pangolin scales {payload}")
    officer = await browser("officer", "GB")
    _, html = await officer.get("/app", params={"q": '"><script>alert(3)</script>'})
    assert "<script>alert(3)</script>" not in html
    _, html = await officer.get("/app")
    assert payload not in html and "<script>alert(2)</script>" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    # The page's own script is a file (the CSP forbids inline scripts).
    assert '<script src="/static/queue.js" defer></script>' in html
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/queue.js" defer>']


async def test_empty_queue_says_so_and_the_page_needs_sign_in(dash, browser):
    officer = await browser("officer", "GB")
    _, html = await officer.get("/app")
    assert total(html) == 0 and "No cases yet." in html
    # A stranger is sent to sign in.
    response = await dash.get("/app?priority=critical", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/login")


async def test_the_species_column_names_the_species_not_its_family(dash, browser, settings):
    """ "Royal python skins" names Python regius (II); the family its product term names
    gives way, in the queue as in the priority."""
    from tests.dashboard.conftest import case_of, report

    case_id = await case_of(
        settings,
        (
            await report(
                dash,
                url="https://www.gumtree.com/p/reptiles/royal-python/1458893321",
                title="Royal python skins x10",
                text="Python skins for leather work, ships from Manchester",
            )
        )["reference"],
    )
    _, html = await (await browser("officer", "GB")).get("/app")
    row = html.split(f'data-case="{case_id}"', 1)[1].split("</tr>", 1)[0]
    assert "Python regius" in row and "Pythonidae" not in row
    assert "high" in row
