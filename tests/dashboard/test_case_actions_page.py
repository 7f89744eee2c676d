"""The case page's forms: each changes the case with its audit row, under the API's rules.

Each test runs on SQLite and on PostgreSQL (the `settings` fixture).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from db.models import AuditEvent, Case, CaseUnit, Report
from tests.dashboard.conftest import Browser, case_of, report

#: Every form of the case page, with values that would work on a fresh case of GB.
ACTIONS: dict[str, dict[str, str]] = {
    "acknowledge": {"note": "seen"},
    "assign": {},
    "status": {"status": "under_investigation"},
    "close": {"outcome": "removed"},
    "reopen": {},
    "reroute": {"unit": "FR", "reason": "seller in Lyon"},
    "share": {"unit": "DE", "reason": "buyer in Berlin"},
    "merge": {"into": "0"},  # filled in with a real case id
    "split": {},  # filled in with a real reference
}


async def the_case(peek: Any, case_id: int) -> Case:
    rows = await peek.rows(Case, Case.id == case_id)
    assert len(rows) == 1
    return rows[0]


async def case_events(peek: Any, case_id: int, action: str) -> list[AuditEvent]:
    return await peek.rows(
        AuditEvent,
        AuditEvent.object_type == "case",
        AuditEvent.object_id == str(case_id),
        AuditEvent.action == action,
    )


async def two_report_case(dash: Any, settings: Any) -> tuple[int, str, str]:
    first = await report(dash)
    second = await report(dash, text="Pangolin scales again, 1 kg, London")  # the same URL
    case_id = await case_of(settings, first["reference"])
    assert await case_of(settings, second["reference"]) == case_id
    return case_id, first["reference"], second["reference"]


async def other_case(dash: Any, settings: Any) -> int:
    sent = await report(
        dash, url="https://www.ebay.co.uk/itm/555", text="Rhino horn cup, Birmingham"
    )
    return await case_of(settings, sent["reference"])


async def post(person: Browser, case_id: int, action: str, **values: str) -> tuple[int, str]:
    response, html = await person.post(f"/app/cases/{case_id}/{action}", values)
    return response.status, html


async def test_a_case_worked_from_new_to_closed_and_reopened(dash, settings, browser, peek):
    case_id = await case_of(settings, (await report(dash))["reference"])
    officer = await browser("officer", "GB")
    _, html = await officer.get(f"/app/cases/{case_id}")
    for action in ("acknowledge", "assign", "status", "close"):
        assert f'action="/app/cases/{case_id}/{action}"' in html

    response, _ = await officer.post(f"/app/cases/{case_id}/acknowledge", {"note": "on it"})
    assert response.status == 303
    assert response.headers["Location"] == f"/app/cases/{case_id}?notice=acknowledged"
    _, html = await officer.get(response.headers["Location"])
    assert "Case acknowledged." in html
    case = await the_case(peek, case_id)
    assert case.status == "triaged" and case.acknowledged_by_id == officer.account.id
    [event] = await case_events(peek, case_id, "case.acknowledged")
    assert event.actor == f"account:{officer.account.id}"
    assert event.details == {"status": "triaged", "note": "on it", "via": "dashboard"}

    assert (await post(officer, case_id, "assign"))[0] == 303
    assert (await the_case(peek, case_id)).assigned_account_id == officer.account.id
    [event] = await case_events(peek, case_id, "case.assigned")
    assert event.details["account"] == officer.account.id

    assert (await post(officer, case_id, "status", status="referred_prosecution"))[0] == 303
    assert (await the_case(peek, case_id)).status == "referred_prosecution"
    [event] = await case_events(peek, case_id, "case.status_changed")
    assert event.details["previous"] == "triaged"

    assert (await post(officer, case_id, "close", outcome="seized", note="2 kg seized"))[0] == 303
    case = await the_case(peek, case_id)
    assert (case.status, case.outcome) == ("closed", "seized")
    assert case.closed_by_id == officer.account.id
    [event] = await case_events(peek, case_id, "case.closed")
    assert event.details["outcome"] == "seized"
    _, html = await officer.get(f"/app/cases/{case_id}")
    assert f'action="/app/cases/{case_id}/reopen"' in html
    assert f'action="/app/cases/{case_id}/close"' not in html

    assert (await post(officer, case_id, "reopen"))[0] == 303
    case = await the_case(peek, case_id)
    assert (case.status, case.outcome) == ("triaged", None)
    assert len(await case_events(peek, case_id, "case.reopened")) == 1


async def test_an_impossible_change_shows_the_409_message_and_changes_nothing(
    dash, settings, browser, peek
):
    case_id = await case_of(settings, (await report(dash))["reference"])
    officer = await browser("officer", "GB")
    assert (await post(officer, case_id, "acknowledge"))[0] == 303
    before = await the_case(peek, case_id)
    status, html = await post(officer, case_id, "acknowledge")
    assert status == 409
    assert f"case {case_id} was already acknowledged" in html
    assert f"Case #{case_id}" in html  # the case page, not a bare error page
    assert (await the_case(peek, case_id)).model_dump() == before.model_dump()
    assert len(await case_events(peek, case_id, "case.acknowledged")) == 1
    status, html = await post(officer, case_id, "reopen")
    assert status == 409 and "is not closed" in html
    status, html = await post(officer, case_id, "close", outcome="not-an-outcome")
    assert status == 422 and (await the_case(peek, case_id)).status == "triaged"


async def test_assigning_a_colleague_is_for_unit_admins(dash, settings, browser, peek):
    case_id = await case_of(settings, (await report(dash))["reference"])
    colleague = await browser("officer", "GB", email="colleague@gb.example", name="Colleague")
    outsider = await browser("officer", "FR")
    officer = await browser("officer", "GB")
    _, html = await officer.get(f"/app/cases/{case_id}")
    assert "Assign to me" in html and 'name="account"' not in html
    status, html = await post(officer, case_id, "assign", account=str(colleague.account.id))
    assert status == 403 and "only to themselves" in html
    assert (await the_case(peek, case_id)).assigned_account_id is None

    admin = await browser("unit_admin", "GB")
    _, html = await admin.get(f"/app/cases/{case_id}")
    form = html[html.index(f'action="/app/cases/{case_id}/assign"') :].split("</form>")[0]
    assert f'<option value="{colleague.account.id}"' in form
    assert f'<option value="{outsider.account.id}"' not in form  # FR cannot work the case
    status, _ = await post(admin, case_id, "assign", account=str(colleague.account.id))
    assert status == 303
    case = await the_case(peek, case_id)
    assert case.assigned_account_id == colleague.account.id
    assert case.acknowledged_by_id == admin.account.id
    _, html = await admin.get(f"/app/cases/{case_id}")
    assert re.search(r"Colleague \(officer, GB\), [^<]+ by unit_admin GB \(unit admin, GB\)", html)
    status, html = await post(admin, case_id, "assign", account=str(outsider.account.id))
    assert status == 422 and "works on this case" in html
    assert (await the_case(peek, case_id)).assigned_account_id == colleague.account.id


async def test_reroute_and_share_add_a_unit_with_the_reason(dash, settings, browser, peek):
    case_id = await case_of(settings, (await report(dash))["reference"])
    officer = await browser("officer", "GB")
    _, html = await officer.get(f"/app/cases/{case_id}")
    assert '<datalist id="reroute-units">' in html
    status, html = await post(officer, case_id, "reroute", unit="XX", reason="why not")
    assert status == 422 and "No active unit" in html
    status, html = await post(officer, case_id, "reroute", unit="FR", reason="")
    assert status == 422
    assert (await post(officer, case_id, "reroute", unit="fr", reason="seller in Lyon"))[0] == 303
    assert (await post(officer, case_id, "share", unit="DE", reason="buyer in Berlin"))[0] == 303
    units = {u.unit_code: u for u in await peek.rows(CaseUnit, CaseUnit.case_id == case_id)}
    assert set(units) == {"GB", "FR", "DE"}
    assert (units["FR"].kind, units["FR"].reason) == ("rerouted", "rerouted: seller in Lyon")
    assert (units["DE"].kind, units["DE"].reason) == ("shared", "shared: buyer in Berlin")
    [event] = await case_events(peek, case_id, "case.rerouted")
    assert event.details["unit"] == "FR" and event.details["reason"] == "seller in Lyon"
    [event] = await case_events(peek, case_id, "case.shared")
    assert event.details["unit"] == "DE"
    status, html = await post(officer, case_id, "share", unit="DE", reason="again")
    assert status == 409 and "already with unit DE" in html
    # The unit it was shared with now sees the case and why.
    german = await browser("officer", "DE")
    response, html = await german.get(f"/app/cases/{case_id}")
    assert response.status == 200 and "buyer in Berlin" in html


async def test_merge_and_split(dash, settings, browser, peek):
    case_id, first, second = await two_report_case(dash, settings)
    target = await other_case(dash, settings)
    officer = await browser("officer", "GB")
    _, html = await officer.get(f"/app/cases/{case_id}")
    assert f'value="{first}"' in html and f'value="{second}"' in html

    status, html = await post(officer, case_id, "split", reason="two sellers")
    assert status == 422 and "Tick the reports" in html
    status, html = await post(officer, case_id, "split", reports=first)  # type: ignore[arg-type]
    assert status == 303
    [event] = await case_events(peek, case_id, "case.split")
    new_case = event.details["into"]
    assert event.details["reports"] == [first]
    [moved] = await peek.rows(Report, Report.reference == first)
    assert moved.case_id == new_case
    _, html = await officer.get(f"/app/cases/{case_id}?notice=split&new={new_case}")
    assert f"Reports split into case #{new_case}." in html

    response, _ = await officer.post(
        f"/app/cases/{new_case}/merge", {"into": f"#{target}", "reason": "same seller"}
    )
    assert response.status == 303
    assert response.headers["Location"] == f"/app/cases/{target}?notice=merged&source={new_case}"
    merged = await the_case(peek, new_case)
    assert (merged.status, merged.merged_into_id) == ("merged", target)
    [event] = await case_events(peek, new_case, "case.merged")
    assert event.details["into"] == target and event.details["reason"] == "same seller"
    status, html = await post(officer, case_id, "merge", into=str(case_id))
    assert status == 409 and "cannot be merged into itself" in html


async def test_merging_into_a_case_one_cannot_see_is_refused(dash, settings, browser, peek):
    case_id = await case_of(settings, (await report(dash))["reference"])
    french = await case_of(
        settings,
        (
            await report(
                dash,
                url="https://www.leboncoin.fr/ad/123",
                text="Écailles de pangolin, Lyon, France",
                seller_location="Lyon, France",
                reporter_country="FR",
            )
        )["reference"],
    )
    assert "GB" not in [u.unit_code for u in await peek.rows(CaseUnit, CaseUnit.case_id == french)]
    officer = await browser("officer", "GB")
    status, foreign_html = await post(officer, case_id, "merge", into=str(french))
    status_unknown, unknown_html = await post(officer, case_id, "merge", into="999999")
    assert status == status_unknown == 404
    assert f"No case #{french} that you can see." in foreign_html
    assert "No case #999999 that you can see." in unknown_html
    assert (await the_case(peek, case_id)).merged_into_id is None
    assert await case_events(peek, case_id, "case.merged") == []


@pytest.mark.parametrize("action", sorted(ACTIONS))
async def test_every_form_needs_the_csrf_token(dash, settings, browser, peek, action):
    case_id, first, _ = await two_report_case(dash, settings)
    target = await other_case(dash, settings)
    values = {**ACTIONS[action]}
    if action == "merge":
        values["into"] = str(target)
    if action == "split":
        values["reports"] = first
    officer = await browser("officer", "GB")
    await officer.get(f"/app/cases/{case_id}")
    before = (await the_case(peek, case_id)).model_dump()
    events = await peek.count(AuditEvent)
    path = f"/app/cases/{case_id}/{action}"
    response, html = await officer.post(path, values, csrf=False)
    assert response.status == 403 and "This form has expired" in html
    response, _ = await officer.post(path, {**values, "csrf_token": "forged"})
    assert response.status == 403
    response, _ = await officer.post(path, values, origin="https://evil.example")
    assert response.status == 403
    assert (await the_case(peek, case_id)).model_dump() == before
    assert await peek.count(AuditEvent) == events


async def test_observers_read_but_cannot_act(dash, settings, browser, peek):
    case_id, _, _ = await two_report_case(dash, settings)
    observer = await browser("observer", "GB")
    response, html = await observer.get(f"/app/cases/{case_id}")
    assert response.status == 200 and "Pangolin scales" in html
    assert "Act on this case" not in html
    for action in ACTIONS:
        assert f'action="/app/cases/{case_id}/{action}"' not in html
    before = (await the_case(peek, case_id)).model_dump()
    for action, values in ACTIONS.items():
        response, _ = await observer.post(f"/app/cases/{case_id}/{action}", values)
        assert response.status == 403, action
    assert (await the_case(peek, case_id)).model_dump() == before


async def test_another_unit_cannot_act_on_a_case_even_by_guessing(dash, settings, browser, peek):
    case_id, first, _ = await two_report_case(dash, settings)
    target = await other_case(dash, settings)
    stranger = await browser("officer", "FR")
    before = (await the_case(peek, case_id)).model_dump()
    events = await peek.count(AuditEvent)
    for action, values in ACTIONS.items():
        values = {**values, "into": str(target), "reports": first}
        theirs, theirs_html = await stranger.post(f"/app/cases/{case_id}/{action}", values)
        unknown, unknown_html = await stranger.post(f"/app/cases/{case_id + 999}/{action}", values)
        assert theirs.status == unknown.status == 404, action
        assert theirs_html == unknown_html, action
        assert "Pangolin" not in theirs_html
    assert (await the_case(peek, case_id)).model_dump() == before
    assert await peek.count(AuditEvent) == events
