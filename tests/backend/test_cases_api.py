"""Officers read, merge and split cases, within their units' scope, every step audited."""

from __future__ import annotations

from db.models import AuditEvent, Case, Delivery, Listing, Report


async def report(client, token, **fields):
    response = await client.post(
        "/api/v1/reports", json=fields, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status == 201, await response.text()
    return await response.json()


def auth(token):
    return {"Authorization": f"Bearer {token}"}


async def test_an_officer_reads_a_case_of_their_unit_only(client, peek):
    gb = await peek.token("officer", "GB")
    fr = await peek.token("officer", "FR")
    receipt = await report(
        client, gb, url="https://www.ebay.co.uk/itm/111111111111", text="ivory",
        seller_location="Leeds, UK",
    )  # fmt: skip
    path = f"/api/v1/cases/{receipt['case_id']}"
    seen = await client.get(path, headers=auth(gb))
    assert seen.status == 200
    case = await seen.json()
    assert case["units"] == ["GB"] and case["report_count"] == 1
    assert case["reports"][0]["reference"] == receipt["reference"]
    assert case["listings"][0]["key"] == "ebay:item:111111111111"
    assert (await client.get(path, headers=auth(fr))).status == 404
    assert (await client.get("/api/v1/cases/999999", headers=auth(gb))).status == 404
    assert (await client.get(path)).status == 401
    [viewed] = await peek.rows(AuditEvent, AuditEvent.action == "case.viewed")
    assert viewed.object_id == str(receipt["case_id"])


async def test_merge_moves_reports_and_listings_and_keeps_a_pointer(client, peek):
    gb = await peek.token("officer", "GB")
    first = await report(
        client, gb, url="https://www.ebay.co.uk/itm/111111111111", text="Pangolin scales",
        seller_location="Leeds, UK",
    )  # fmt: skip
    second = await report(
        client, gb, url="https://www.gumtree.com/p/x/scales/1471234567", text="tusk",
        seller_location="Leeds, UK",
    )  # fmt: skip
    assert first["case_id"] != second["case_id"]

    merged = await client.post(
        f"/api/v1/cases/{second['case_id']}/merge",
        json={"into": first["case_id"], "reason": "same seller, same photos"},
        headers=auth(gb),
    )
    assert merged.status == 200, await merged.text()
    body = await merged.json()
    assert body["id"] == first["case_id"] and body["report_count"] == 2
    assert body["priority"] == "critical"
    assert {x["key"] for x in body["listings"]} == {
        "ebay:item:111111111111",
        "gumtree.com:ad:1471234567",
    }
    old = next(c for c in await peek.rows(Case) if c.id == second["case_id"])
    assert (old.status, old.merged_into_id, old.report_count) == ("merged", first["case_id"], 0)
    assert {r.case_id for r in await peek.rows(Report)} == {first["case_id"]}
    assert {x.case_id for x in await peek.rows(Listing)} == {first["case_id"]}

    # A new report of the merged listing lands in the surviving case.
    again = await report(client, gb, url="https://www.gumtree.com/p/x/y/1471234567", text="x")
    assert again["case_id"] == first["case_id"] and again["duplicate"] is True

    again_merge = await client.post(
        f"/api/v1/cases/{second['case_id']}/merge", json={"into": first["case_id"]},
        headers=auth(gb),
    )  # fmt: skip
    assert again_merge.status == 409
    [event] = await peek.rows(AuditEvent, AuditEvent.action == "case.merged")
    assert event.details["reason"] == "same seller, same photos"


async def test_merge_needs_rights_over_both_cases(client, peek):
    gb = await peek.token("officer", "GB")
    fr = await peek.token("officer", "FR")
    observer = await peek.token("observer", "GB")
    mine = await report(client, gb, text="ivory", seller_location="Leeds, UK")
    theirs = await report(client, fr, text="ivoire", seller_location="Lyon, France")
    denied = await client.post(
        f"/api/v1/cases/{mine['case_id']}/merge", json={"into": theirs["case_id"]},
        headers=auth(gb),
    )  # fmt: skip
    assert denied.status == 404  # the other unit's case is not even acknowledged
    read_only = await client.post(
        f"/api/v1/cases/{mine['case_id']}/merge", json={"into": mine["case_id"]},
        headers=auth(observer),
    )  # fmt: skip
    assert read_only.status == 403
    assert {c.merged_into_id for c in await peek.rows(Case)} == {None}


async def test_split_takes_reports_into_a_new_case_of_the_same_units(client, peek):
    gb = await peek.token("officer", "GB")
    url = "https://www.ebay.co.uk/itm/222222222222"
    a = await report(client, gb, url=url, text="rhino horn", seller_location="Leeds, UK")
    b = await report(client, gb, url=url, text="carved cup")
    c = await report(client, gb, text="parrot chicks", seller_location="Leeds, UK")
    merged = await client.post(
        f"/api/v1/cases/{c['case_id']}/merge", json={"into": a["case_id"]}, headers=auth(gb)
    )
    assert merged.status == 200

    split = await client.post(
        f"/api/v1/cases/{a['case_id']}/split",
        json={"reports": [c["reference"]], "reason": "different seller"},
        headers=auth(gb),
    )
    assert split.status == 201, await split.text()
    new = await split.json()
    assert new["id"] not in (a["case_id"], c["case_id"])
    assert [r["reference"] for r in new["reports"]] == [c["reference"]]
    assert new["units"] == ["GB"] and new["listings"] == []
    left = await (await client.get(f"/api/v1/cases/{a['case_id']}", headers=auth(gb))).json()
    assert {r["reference"] for r in left["reports"]} == {a["reference"], b["reference"]}
    assert left["report_count"] == 2 and len(left["listings"]) == 1

    everything = await client.post(
        f"/api/v1/cases/{a['case_id']}/split",
        json={"reports": [a["reference"], b["reference"]]},
        headers=auth(gb),
    )
    assert everything.status == 409
    foreign = await client.post(
        f"/api/v1/cases/{a['case_id']}/split",
        json={"reports": [c["reference"]]},
        headers=auth(gb),
    )
    assert foreign.status == 409
    assert "not reports of case" in (await foreign.json())["error"]["message"]


async def test_reroute_sends_the_case_to_another_unit_with_a_delivery_and_an_audit(client, peek):
    gb = await peek.token("officer", "GB")
    fr = await peek.token("officer", "FR")
    receipt = await report(client, gb, text="ivory tusk", seller_location="Leeds, UK")
    path = f"/api/v1/cases/{receipt['case_id']}/reroute"
    rerouted = await client.post(
        path, json={"unit": "fr", "reason": "seller moved to Calais"}, headers=auth(gb)
    )
    assert rerouted.status == 200, await rerouted.text()
    assert (await rerouted.json())["units"] == ["FR", "GB"]
    deliveries = await peek.rows(Delivery, Delivery.unit_code == "FR")
    assert [(d.channel, d.state) for d in deliveries] == [("dashboard", "sent")]
    [event] = await peek.rows(AuditEvent, AuditEvent.action == "case.rerouted")
    assert event.details == {"unit": "FR", "reason": "seller moved to Calais"}
    seen = await client.get(f"/api/v1/cases/{receipt['case_id']}", headers=auth(fr))
    assert seen.status == 200  # the new unit now sees it

    again = await client.post(path, json={"unit": "FR", "reason": "x"}, headers=auth(gb))
    assert again.status == 409
    unknown = await client.post(path, json={"unit": "QQ", "reason": "x"}, headers=auth(gb))
    assert unknown.status == 422 and (await unknown.json())["error"]["field"] == "unit"
    no_reason = await client.post(path, json={"unit": "DE"}, headers=auth(gb))
    assert no_reason.status == 422
