"""The workspace end to end, as the issue states what "done" means: a unit officer signs in,
sees only their unit's queue with Appendix I on top, opens a case with its evidence and
reasons, reroutes it with a comment the receiving unit sees; a coordinator reads the
month-by-month trends and downloads the CSV.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from db.models import AuditEvent
from tests.dashboard.conftest import case_of, report
from tests.dashboard.test_case_evidence import gps_photo, submit


async def test_an_officer_reroutes_a_case_and_a_coordinator_reads_the_trends(
    dash, browser, settings, peek
):
    # Three GB listings (Appendix I ivory with a photo, Appendix II python, a review case)
    # and one French listing the GB officer must never see.
    ivory = await case_of(
        settings,
        await submit(
            dash,
            {
                "url": "https://www.ebay.co.uk/itm/3344556677",
                "title": "Carved elephant ivory bangle",
                "text": "Old ivory bangle, seller in Lyon, ships from France to the UK",
                "seller_location": "London",
                "reporter_country": "GB",
            },
            ("images", gps_photo(), "bangle.jpg", "image/jpeg"),
        ),
    )
    python = await case_of(
        settings,
        (
            await report(
                dash,
                url="https://www.gumtree.com/p/reptiles/royal-python/1458893321",
                title="Royal python skins x10",
                text="Royal python skins, ships from Manchester",
            )
        )["reference"],
    )
    french = await case_of(
        settings,
        (
            await report(
                dash,
                url="https://www.leboncoin.fr/annonce/99887766",
                title="Écailles de pangolin",
                text="Écailles de pangolin, 500 g, Marseille",
                reporter_country="FR",
            )
        )["reference"],
    )

    officer = await browser("officer", "GB", name="Grace Officer")
    response, queue = await officer.get("/app")
    assert response.status == 200
    listed = [int(n) for n in re.findall(r'data-case="(\d+)"', queue)]
    assert listed[0] == ivory and python in listed and french not in listed

    response, page = await officer.get(f"/app/cases/{ivory}")
    assert response.status == 200
    assert "Carved elephant ivory bangle" in page
    assert "Elephantidae" in page or "Loxodonta" in page  # the species and the term
    assert "seller_location" in page  # the jurisdiction signals
    [photo] = set(re.findall(rf"/app/cases/{ivory}/evidence/[0-9a-f]{{64}}", page))
    shown = await officer.http.get(photo)
    assert shown.status == 200 and shown.content_type == "image/jpeg"

    response, _ = await officer.post(
        f"/app/cases/{ivory}/reroute",
        {"unit": "FR", "reason": "Seller is in Lyon: the French unit can act."},
    )
    assert response.status == 303
    response, _ = await officer.post(
        f"/app/cases/{ivory}/comments",
        {"body": "@FR photos match an earlier seizure in Calais, see the bangle."},
    )
    assert response.status == 303

    french_officer = await browser("officer", "FR")
    _, queue = await french_officer.get("/app")
    assert f'data-case="{ivory}"' in queue and f'data-case="{python}"' not in queue
    _, page = await french_officer.get(f"/app/cases/{ivory}")
    assert "Seller is in Lyon: the French unit can act." in page
    assert "photos match an earlier seizure in Calais" in page

    coordinator = await browser("coordinator")
    response, trends = await coordinator.get("/app/trends")
    assert response.status == 200 and 'id="chart-taxa"' in trends
    response = await coordinator.http.get("/app/trends/taxa.csv")
    assert response.status == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO((await response.text()).lstrip("\ufeff"))))
    month = datetime.now(UTC).strftime("%Y-%m")
    this_month = {r["group"]: int(r["value"]) for r in rows if r["period"].startswith(month)}
    assert this_month.get("Mammalia", 0) >= 2 and this_month.get("Reptilia", 0) >= 1
    assert await peek.rows(AuditEvent, AuditEvent.action == "export.trends")
