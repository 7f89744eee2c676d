"""A failing report never removes a file another report of the same picture stored.

Evidence files are content-addressed: two reports of one picture share one file, and the
first to arrive writes it. When that report then fails (its transaction cannot commit), it
removes the files it wrote, and must keep any that another report has committed, or is
about to commit, a row for. The failure is forced here by holding the first report at
its database step and then failing it; everything else is the real service.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import FormData

from db.models import Evidence
from extension_backend import keys
from tests.helpers import jpeg, photo

PICTURE = jpeg(photo(41))


def form(url: str) -> FormData:
    data = FormData()
    report = {"url": url, "text": "pangolin scales 2 kg", "reporter_country": "GB"}
    data.add_field("report", json.dumps(report), content_type="application/json")
    data.add_field("images", PICTURE, filename="scales.jpg", content_type="image/jpeg")
    return data


class Held:
    """Wraps `Intake._record`: the first call waits for `release`, then fails; the second
    call waits for `second_go` before recording (when set)."""

    def __init__(self, intake: Any, hold_second: bool) -> None:
        self.record = intake._record
        self.first_waiting = asyncio.Event()
        self.release = asyncio.Event()
        self.second_go = asyncio.Event()
        self.second_waiting = asyncio.Event()
        self.hold_second = hold_second
        self.calls = 0

    async def __call__(self, *args: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            self.first_waiting.set()
            await self.release.wait()
            raise RuntimeError("the first report's transaction fails")
        if self.hold_second:
            self.second_waiting.set()
            await self.second_go.wait()
        return await self.record(*args)


async def start(client: Any, hold_second: bool) -> tuple[Held, asyncio.Task[Any]]:
    intake = client.server.app[keys.INTAKE]
    held = Held(intake, hold_second)
    intake._record = held
    first = asyncio.create_task(
        client.post("/api/v1/reports", data=form("https://www.ebay.co.uk/itm/400000000001"))
    )
    await asyncio.wait_for(held.first_waiting.wait(), 30)  # its file is written
    return held, first


async def test_a_report_that_fails_keeps_the_file_a_committed_report_uses(client, peek):
    held, first = await start(client, hold_second=False)
    second = await client.post(
        "/api/v1/reports", data=form("https://www.gumtree.com/p/x/scales/1470000001")
    )
    assert second.status == 201, await second.text()
    held.release.set()
    assert (await first).status == 500

    [evidence] = await peek.rows(Evidence)
    [stored] = peek.evidence_files()
    assert evidence.sha256 in stored  # the committed report's file is still there


async def test_a_report_that_fails_keeps_the_file_a_report_under_way_will_use(client, peek):
    held, first = await start(client, hold_second=True)
    second = asyncio.create_task(
        client.post("/api/v1/reports", data=form("https://www.gumtree.com/p/x/scales/1470000002"))
    )
    await asyncio.wait_for(held.second_waiting.wait(), 30)  # found the file in place
    held.release.set()
    assert (await first).status == 500  # failed while the second was still under way
    assert len(peek.evidence_files()) == 1
    held.second_go.set()
    assert (await second).status == 201
    [evidence] = await peek.rows(Evidence)
    [stored] = peek.evidence_files()
    assert evidence.sha256 in stored


async def test_a_report_that_fails_alone_leaves_no_file(client, peek):
    held, first = await start(client, hold_second=False)
    held.release.set()
    assert (await first).status == 500
    assert peek.evidence_files() == []
    assert await peek.rows(Evidence) == []
