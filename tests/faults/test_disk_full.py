"""The evidence disk fills up: a report with images fails cleanly with 507, nothing is half
stored, and the same report goes through once there is room again.

A real full disk: the data dir's evidence directory is a 2 MiB tmpfs, filled with a file
until the kernel answers ENOSPC, under a real `wildflag serve` process. Mounting needs root
(CAP_SYS_ADMIN); without it the test skips and says so.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from db.models import Evidence
from extension_backend.evidence import prepare_image, sha256_hex
from extension_backend.settings import Settings
from tests.backend.conftest import Peek
from tests.faults.processes import Serve
from tests.helpers import image_bytes, jpeg, photo, wildflag_env

DISK_BYTES = 2 * 1024 * 1024
#: Room left for the second attempt: the small image fits, the large one does not.
ROOM = 64 * 1024

REPORT = {
    "url": "https://www.ebay.co.uk/itm/Carved-tusk/284512300507",
    "title": "Antique carved elephant ivory tusk",
    "text": "Genuine elephant ivory, 1.2 kg. Collection in London.",
    "seller_location": "London, United Kingdom",
}
SMALL = image_bytes(color="teal")  # a few hundred bytes once cleaned
LARGE = jpeg(photo(507, size=(1600, 1200)), quality=95)  # hundreds of KiB once cleaned


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """`data/evidence` as a 2 MiB tmpfs of its own, unmounted afterwards."""
    evidence = tmp_path / "data" / "evidence"
    evidence.mkdir(parents=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs for the full-disk test needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES},mode=0755", "tmpfs", str(evidence)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        yield evidence
    finally:
        subprocess.run(["umount", "-l", str(evidence)], capture_output=True, check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full (the kernel says ENOSPC); return it."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (b"\0" * 65536, b"\0" * 4096, b"\0"):
            try:
                while os.write(fd, chunk):
                    pass
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    return filler


def free_bytes(disk: Path) -> int:
    stat = os.statvfs(disk)
    return stat.f_bavail * stat.f_frsize


def files(disk: Path) -> dict[str, int]:
    """Every regular file on the disk (temporary ones included) and its size."""
    return {str(p.relative_to(disk)): p.stat().st_size for p in disk.rglob("*") if p.is_file()}


def form() -> aiohttp.FormData:
    data = aiohttp.FormData()
    data.add_field("report", json.dumps(REPORT), content_type="application/json")
    data.add_field("images", SMALL, filename="small.jpg", content_type="image/jpeg")
    data.add_field("images", LARGE, filename="large.jpg", content_type="image/jpeg")
    return data


async def post(http: aiohttp.ClientSession, base: str, key: str) -> tuple[int, Any]:
    async with http.post(
        base + "/api/v1/reports", data=form(), headers={"Idempotency-Key": key}
    ) as response:
        return response.status, await response.json()


async def test_a_full_evidence_disk_refuses_cleanly_and_recovers(
    tmp_path: Path, small_disk: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    extra = {"WILDFLAG_ANONYMOUS_REPORTS_PER_MINUTE": "1000", "WILDFLAG_DELIVERY_WORKER": "false"}
    if database_url.startswith("postgresql"):
        extra["WILDFLAG_DATABASE_URL"] = database_url
    # On SQLite the service creates its own database file in the data dir, on the real disk.
    settings = Settings(data_dir=data_dir, database_url=extra.get("WILDFLAG_DATABASE_URL"))
    peek = Peek(settings)
    small, large = (
        prepare_image(data, "x.jpg", kind="image", max_pixels=settings.max_image_pixels).size
        for data in (SMALL, LARGE)
    )
    assert small < ROOM < large  # the second attempt stores one image, then runs out

    serve = Serve(tmp_path / "serve.log", wildflag_env(data_dir, **extra))
    await serve.start()
    try:
        key = str(uuid.uuid4())
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            before = await peek.counts()
            filler = await asyncio.to_thread(fill, small_disk)
            full = await asyncio.to_thread(files, small_disk)

            # No room at all, then room for the first image but not the second.
            for room in (0, ROOM):
                if room:
                    os.truncate(filler, filler.stat().st_size - room)
                    full = await asyncio.to_thread(files, small_disk)
                    assert free_bytes(small_disk) >= room
                status, body = await post(http, serve.base, key)
                assert status == 507, (room, body, await serve.log_text())
                assert body["error"]["code"] == "insufficient_storage"
                assert await peek.counts() == before  # no report, case, evidence, outbox row
                # Not a byte left behind: no stored image, no temporary `.incoming-` file.
                assert await asyncio.to_thread(files, small_disk) == full

            # A report without files needs no evidence space, and still goes in.
            async with http.post(serve.base + "/api/v1/reports", json={"text": "ivory"}) as r:
                assert r.status == 201, await r.text()

            filler.unlink()
            status, body = await post(http, serve.base, key)  # the same request, retried
            assert status == 201, body
    finally:
        await serve.stop()

    stored = await asyncio.to_thread(files, small_disk)
    evidence = await peek.rows(Evidence)
    assert sorted(e.size for e in evidence) == [small, large]
    for row in evidence:
        path = f"{row.sha256[:2]}/{row.sha256[2:4]}/{row.sha256}"
        assert stored[path] == row.size
        assert sha256_hex((small_disk / path).read_bytes()) == row.sha256
    assert len(stored) == 2  # the two images, nothing else
