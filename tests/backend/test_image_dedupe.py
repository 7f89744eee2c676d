"""Near-duplicate pictures join the case of the picture they copy, within one unit's scope."""

from __future__ import annotations

import json

from aiohttp import FormData
from PIL import Image, ImageOps

from db.models import ImageHash, ImageMatch
from tests.helpers import jpeg, photo


async def send(client, token, picture: bytes, **fields):
    form = FormData()
    form.add_field("report", json.dumps(fields), content_type="application/json")
    form.add_field("images", picture, filename="p.jpg", content_type="image/jpeg")
    response = await client.post(
        "/api/v1/reports", data=form, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status == 201, await response.text()
    return await response.json()


async def test_a_mirrored_recompressed_copy_with_another_url_joins_the_case(client, peek):
    gb = await peek.token("officer", "GB")
    original = photo(1)
    first = await send(
        client, gb, jpeg(original), url="https://www.ebay.co.uk/itm/333333333333",
        text="pangolin scales", seller_location="Leeds, UK",
    )  # fmt: skip
    assert first["duplicate"] is False
    stored = await peek.rows(ImageHash)
    assert len(stored) >= 5 and all(len(h.value) == 32 for h in stored)

    copy = jpeg(ImageOps.mirror(original).resize((480, 360)), quality=35)
    second = await send(
        client, gb, copy, url="https://www.gumtree.com/p/x/scales/1471234567",
        text="scales", seller_location="Leeds, UK",
    )  # fmt: skip
    assert second["duplicate"] is True
    assert second["case_id"] == first["case_id"] and second["case_reports"] == 2
    [match] = await peek.rows(ImageMatch)
    assert match.joined and match.distance <= 31

    other = await send(
        client, gb, jpeg(photo(2)), url="https://www.gumtree.com/p/y/z/1479999999",
        text="scales", seller_location="Leeds, UK",
    )  # fmt: skip
    assert other["duplicate"] is False and other["case_id"] != first["case_id"]


async def test_a_matching_picture_never_carries_a_case_to_another_unit(client, peek):
    gb = await peek.token("officer", "GB")
    fr = await peek.token("officer", "FR")
    original = photo(3)
    first = await send(client, gb, jpeg(original), text="ivory", seller_location="Leeds, UK")
    again = await send(
        client, fr, jpeg(ImageOps.mirror(original), 50), text="ivoire",
        seller_location="Lyon, France",
    )  # fmt: skip
    assert again["routed_to"] == ["FR"]
    assert again["duplicate"] is False and again["case_id"] != first["case_id"]
    [link] = await peek.rows(ImageMatch)
    assert link.joined is False  # recorded for coordinators, not merged
    assert (await client.get(f"/api/v1/cases/{first['case_id']}", headers={
        "Authorization": f"Bearer {fr}"})).status == 404  # fmt: skip


async def test_the_index_is_rebuilt_from_the_database_at_start(make_client, settings, peek):
    gb = await peek.token("officer", "GB")
    original = photo(4)
    client = await make_client(settings)
    first = await send(client, gb, jpeg(original), text="ivory", seller_location="Leeds, UK")
    await client.close()
    restarted = await make_client(settings)
    again = await send(restarted, gb, jpeg(original, 40), text="ivory", seller_location="Leeds")
    assert again["case_id"] == first["case_id"] and again["duplicate"] is True


async def test_a_plain_picture_gets_no_fingerprint_and_matches_nothing(client, peek):
    gb = await peek.token("officer", "GB")
    blank = jpeg(Image.new("RGB", (400, 300), "white"))
    first = await send(client, gb, blank, text="ivory", seller_location="Leeds, UK")
    second = await send(client, gb, blank, text="ivory", seller_location="Leeds, UK")
    assert second["case_id"] != first["case_id"]
    assert await peek.count(ImageHash) == 0


async def test_a_picture_sent_again_and_again_links_once_to_its_case(client, peek, monkeypatch):
    """Each copy of a flooded picture costs the same: it is weighed against its nearest
    stored copies only, and linked to their case once, not to every earlier copy (which
    made report n write n - 1 match rows, and take ever longer)."""
    monkeypatch.setattr("extension_backend.intake.NEAREST_PER_PICTURE", 3)
    gb = await peek.token("officer", "GB")
    original = photo(5)
    sent = [
        await send(client, gb, jpeg(original, 90 - 5 * n), text="rhino horn",
                   seller_location="Leeds, UK")
        for n in range(6)
    ]  # fmt: skip
    assert {receipt["case_id"] for receipt in sent} == {sent[0]["case_id"]}
    assert [receipt["case_reports"] for receipt in sent] == [1, 2, 3, 4, 5, 6]
    matches = await peek.rows(ImageMatch)
    assert len(matches) == 5  # one per copy, to the case's nearest copy
    assert all(match.joined for match in matches)
