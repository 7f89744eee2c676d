"""The service never fetches a URL a reporter supplied: a listing's address, the links in
its text, its seller's page. A reporter (or a seller probing) pointing it at internal
addresses gets nothing fetched, whatever the answer to the report itself.
"""

from __future__ import annotations

import asyncio

from aiohttp import web


async def test_no_request_reaches_an_address_a_report_names(client, aiohttp_server):
    hits: list[str] = []

    async def record(request: web.Request) -> web.Response:
        hits.append(request.path_qs)
        return web.Response(text="<html><title>internal</title></html>")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    server = await aiohttp_server(app)
    port = server.port
    addresses = [
        f"http://127.0.0.1:{port}/listing",
        f"http://localhost:{port}/listing",
        f"http://[::1]:{port}/listing",
        f"http://0x7f000001:{port}/listing",
        f"http://2130706433:{port}/listing",
        f"http://127.1:{port}/listing",
        f"https://www.ebay.co.uk@127.0.0.1:{port}/itm/1",
    ]
    answers = []
    for address in addresses:
        response = await client.post(
            "/api/v1/reports",
            json={
                "url": address,
                "title": "Pangolin scales",
                "text": f"See {address} and http://127.0.0.1:{port}/more for photos",
                "seller": f"http://127.0.0.1:{port}/seller",
            },
        )
        answers.append(response.status)
        # A report without a usable listing address still works on its text alone.
        response = await client.post(
            "/api/v1/reports",
            json={"title": "Pangolin scales", "text": f"photos at {address}"},
        )
        assert response.status == 201
    assert all(status in (201, 422) for status in answers), answers
    await asyncio.sleep(0.5)  # nor later, from a background task
    assert hits == []
