"""The extension in Firefox ESR, opt in: capture, pre-check and send against the real backend.

Needs `firefox-esr` and npm's `puppeteer-core` (which drives Firefox over WebDriver BiDi
and downloads no browser): `npm install --prefix DIR puppeteer-core`, then
`WILDFLAG_TEST_PUPPETEER_CORE=DIR/node_modules/puppeteer-core`. Skipped otherwise, with
the reason; CI runs the Chromium tests.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from db.models import Evidence, Report
from tests.extension.conftest import Backend, build_extension

SCRIPT = Path(__file__).resolve().parent / "firefox_smoke.mjs"


@pytest.fixture
def tools() -> tuple[str, str, str]:
    """node, firefox and puppeteer-core, or a skip before any server starts."""
    firefox = shutil.which("firefox-esr") or shutil.which("firefox")
    node = shutil.which("node")
    puppeteer = os.environ.get("WILDFLAG_TEST_PUPPETEER_CORE", "")
    if not (firefox and node):
        pytest.skip("Firefox test needs firefox-esr and node")
    if not puppeteer or not Path(puppeteer, "package.json").is_file():
        pytest.skip("Firefox test needs WILDFLAG_TEST_PUPPETEER_CORE (an npm puppeteer-core)")
    return node, firefox, puppeteer


async def test_report_from_firefox(
    tools: tuple[str, str, str], tmp_path: Path, pages: str, backend: Backend
) -> None:
    node, firefox, puppeteer = tools
    extension = build_extension(tmp_path / "extension", backend.url)
    manifest_path = extension / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8"))
    # BiDi cannot open moz-extension: pages; a web page can navigate to a web-accessible one.
    popup = {"resources": ["popup.html"], "matches": ["<all_urls>"]}
    manifest["web_accessible_resources"] = [popup]
    manifest_path.write_text(json.dumps(manifest), "utf-8")
    listing = f"{pages}/jsonld.html"
    process = await asyncio.create_subprocess_exec(
        node,
        str(SCRIPT),
        puppeteer,
        firefox,
        str(extension),
        listing,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 180)
    assert process.returncode == 0, err.decode()
    result = json.loads(out.decode().strip().splitlines()[-1])

    assert result["fields"]["seller"] == "ParrotPalace"
    assert (result["fields"]["price"], result["fields"]["currency"]) == ("1200", "EUR")
    assert [src.rsplit("/", 1)[1] for src in result["images"]] == ["main.jpg", "side.jpg"]
    assert "Psittacus erithacus" in result["precheck"]
    (report,) = await backend.peek.rows(Report)
    assert report.reference == result["reference"]
    assert report.channel == "extension"
    evidence = await backend.peek.rows(Evidence, Evidence.report_id == report.id)
    assert [e.kind for e in evidence] == ["image"]
