"""Several instances on one database, reports arriving at the same moment: one case each.

On PostgreSQL two app instances (two `create_app`s, each with its own engine, image index
and locks, as two `wildflag serve` processes have) share one database; on SQLite, whose
deployments are one instance, the same requests go at once to one instance.
"""

from __future__ import annotations

import asyncio
import json
import time
from itertools import cycle
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from PIL import Image, ImageOps
from sqlalchemy.util import await_only
from sqlalchemy.util.concurrency import in_greenlet

from db.models import Case, Listing, Report
from extension_backend import keys
from tests.helpers import jpeg, photo


async def instances(make_client: Any, settings: Any) -> list[TestClient]:
    quiet = settings.model_copy(update={"delivery_worker": False})
    if quiet.effective_database_url.startswith("sqlite"):
        return [await make_client(quiet)]
    return [await make_client(quiet), await make_client(quiet)]


def listing(url: str | None) -> dict[str, Any]:
    body = {
        "title": "Carved ivory figurine",
        "text": "Old elephant ivory, hand carved, 12 cm",
        "seller_location": "Lyon, France",
    }
    return body | ({"url": url} if url else {})


async def send(client: TestClient, body: dict[str, Any], picture: bytes | None = None) -> str:
    if picture is None:
        response = await client.post("/api/v1/reports", json=body)
    else:
        form = FormData()
        form.add_field("report", json.dumps(body), content_type="application/json")
        form.add_field("images", picture, filename="p.jpg", content_type="image/jpeg")
        response = await client.post("/api/v1/reports", data=form)
    assert response.status == 201, await response.text()
    return (await response.json())["reference"]


async def case_of(peek: Any) -> dict[str, int]:
    return {r.reference: r.case_id for r in await peek.rows(Report)}


async def test_the_same_listing_at_every_instance_at_once_is_one_case(make_client, settings, peek):
    clients = await instances(make_client, settings)
    urls = [f"https://www.ebay.fr/itm/40000000{n:04d}" for n in range(8)]
    turn = cycle(clients)
    # Four reports of each listing at once, spread over the instances; all listings together.
    await asyncio.gather(*(send(next(turn), listing(url)) for url in urls for _ in range(4)))

    assert await peek.count(Listing) == len(urls)
    cases = await peek.rows(Case)
    assert len(cases) == len(urls)
    assert sorted(c.report_count for c in cases) == [4] * len(urls)
    reports = await peek.rows(Report)
    assert len(reports) == 4 * len(urls)
    for url in urls:
        assert len({r.case_id for r in reports if r.url == url}) == 1, url


async def test_the_same_picture_at_every_instance_at_once_is_one_case(make_client, settings, peek):
    """Two first reports of one picture (different listings) racing: the second to commit
    must see the first's hashes, whichever instance took it."""
    clients = await instances(make_client, settings)
    pictures = [photo(600 + n) for n in range(6)]
    pairs = await asyncio.gather(
        *(
            asyncio.gather(
                send(clients[0], listing(f"https://www.gumtree.com/p/a/x/15{n:08d}"), jpeg(p)),
                send(
                    clients[-1],
                    listing(f"https://www.gumtree.com/p/b/x/16{n:08d}"),
                    jpeg(ImageOps.mirror(p), quality=60),
                ),
            )
            for n, p in enumerate(pictures)
        )
    )
    cases = await case_of(peek)
    assert [cases[a] == cases[b] for a, b in pairs] == [True] * len(pictures)
    assert await peek.count(Case) == len(pictures)


async def test_a_report_paused_before_commit_is_waited_for_by_the_other_instance(
    make_client, settings, peek
):
    """The race made certain: instance A has written a picture's hashes and not yet
    committed when instance B looks the same picture up. B must wait for A's turn to end
    and join A's case, not miss A's uncommitted hashes and open a case of its own."""
    clients = await instances(make_client, settings)
    intake = clients[0].app[keys.INTAKE]
    original = intake._record_analysis
    written = asyncio.Event()

    def slow_record_analysis(*args: Any) -> None:
        # Intake's transaction is synchronous code (`db.writer`): on PostgreSQL the async
        # session runs it in the loop, and `await_only` waits from inside it as its
        # statements do, leaving the loop free; on SQLite it runs in the writer's thread.
        original(*args)
        if not written.is_set():  # only the first report pauses, hashes written
            loop.call_soon_threadsafe(written.set)
            if in_greenlet():
                await_only(asyncio.sleep(1.0))
            else:
                time.sleep(1.0)

    loop = asyncio.get_running_loop()

    intake._record_analysis = slow_record_analysis
    picture = photo(650)
    first = asyncio.create_task(
        send(clients[0], listing("https://www.gumtree.com/p/a/x/1900000001"), jpeg(picture))
    )
    await written.wait()
    second = await send(
        clients[-1], listing("https://www.gumtree.com/p/b/x/1900000002"), jpeg(picture, 60)
    )
    reference = await first
    cases = await case_of(peek)
    assert cases[reference] == cases[second]
    assert await peek.count(Case) == 1


async def test_hashes_committed_out_of_order_are_found_by_the_other_instance(
    make_client, settings, peek
):
    """Hash ids are taken when a report is written and become visible when it commits,
    which need not be in id order. A copy reported afterwards on the other instance must
    still find every original of a concurrent burst."""
    clients = await instances(make_client, settings)
    originals: list[Image.Image] = [photo(700 + n) for n in range(8)]
    first = await asyncio.gather(
        *(
            send(clients[n % len(clients)], listing(f"https://www.gumtree.com/p/o/x/17{n:08d}"),
                 jpeg(p))
            for n, p in enumerate(originals)
        )
    )  # fmt: skip
    copies = await asyncio.gather(
        *(
            send(clients[(n + 1) % len(clients)],
                 listing(f"https://www.gumtree.com/p/c/x/18{n:08d}"),
                 jpeg(p.resize((480, 360)), quality=55))
            for n, p in enumerate(originals)
        )
    )  # fmt: skip
    cases = await case_of(peek)
    assert [cases[a] == cases[b] for a, b in zip(first, copies, strict=True)] == [True] * 8
    assert await peek.count(Case) == len(originals)
