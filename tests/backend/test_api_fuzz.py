"""Fuzzing the HTTP API with schemathesis against the service's own `/api/openapi.json`.

The real service runs on loopback with a fresh database (SQLite and PostgreSQL, the
`settings` fixture), and schemathesis' command line (`st run`, as CI or a developer runs
it) reads the document the running service publishes. For every operation it sends the
schema's examples, boundary values of every parameter and body field (its "coverage"
phase), generated valid and invalid requests (bodies of every shape, odd path and query
values, bad headers, random multipart parts) and short stateful sequences that follow
the document's links. Every answer must be no 5xx, carry a status the document lists for
that operation, have the documented content type and headers, and match the documented
JSON schema, errors included. A failure is printed with a curl command that reproduces it.

It runs three times per database: anonymously, with an admin's bearer token (sees every
case, may change them and issue link codes) and with the Telegram bot's token (manages
links). A few reports are sent first so that cases 1..3 exist and the case operations
reach their real work instead of a 404.

Bounded for CI: a fixed number of examples per operation and phase, derandomised
generation (`--generation-deterministic`: a fixed seed, no example database), one worker,
the bot's run limited to the operations where its token differs: the same run sends the
same requests and finds the same failures.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from extension_backend.settings import Settings
from tests.live_backend import Backend, free_port

ST = str(Path(sys.executable).with_name("st"))
#: Test cases per operation and phase.
MAX_EXAMPLES = 5
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
PHASES = ("examples", "coverage", "fuzzing", "stateful")
#: Reports sent before fuzzing, so that the case operations find cases 1..3.
SEED_REPORTS = (
    {"text": "Pangolin scales, 2 kg, shipping worldwide", "reporter_country": "NG"},
    {"url": "https://www.olx.co.id/item/fuzz-1", "text": "Live African grey parrot"},
    {"url": "https://example.com/listing/ivory", "text": "Ivory carving, antique"},
)


def fuzz_settings(settings: Settings) -> Settings:
    """Limits high enough that 429s do not hide the other answers; no delivery worker."""
    return settings.model_copy(
        update={
            "anonymous_reports_per_minute": 1_000_000,
            "token_reports_per_minute": 1_000_000,
            "bot_reports_per_minute": 1_000_000,
            "delivery_worker": False,
        }
    )


async def seed_reports(backend: Backend) -> None:
    """A few cases for the case operations to act on."""
    async with ClientSession() as http:
        for body in SEED_REPORTS:
            async with http.post(f"{backend.url}/api/v1/reports", json=body) as response:
                assert response.status == 201, await response.text()


async def run_schemathesis(
    base: str, workdir: Path, headers: dict[str, str], paths: str
) -> dict[str, Any]:
    """`st run` against the live document (the operations whose path matches `paths`); its
    JSON run report. On failure the assertion shows schemathesis' output."""
    report = workdir / "schemathesis.json"
    command = [
        ST,
        "run",
        f"{base}/api/openapi.json",
        f"--url={base}",  # the document's server is the public URL, not this loopback port
        f"--checks={','.join(CHECKS)}",
        f"--phases={','.join(PHASES)}",
        f"--max-examples={MAX_EXAMPLES}",
        "--generation-deterministic",
        "--workers=1",
        "--request-timeout=30",
        "--no-color",
        "--report=json",
        f"--report-json-path={report}",
        f"--include-path-regex={paths}",
    ]
    for name, value in headers.items():
        command.append(f"--header={name}: {value}")
    if headers:
        # The caller's own token on every request, not generated credentials (those are
        # the anonymous run's: random bearer tokens and X-Telegram-User values).
        command.append("--generation-with-security-parameters=false")
    # The service runs on this event loop: schemathesis must run beside it, not block it.
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode("utf-8", "replace")
    assert process.returncode == 0, text
    assert report.exists(), text
    return json.loads(report.read_text(encoding="utf-8"))


#: Who calls, and which operations: the bot's token is special only for intake, report
#: status and Telegram links (every case operation refuses it alone with the same 403).
CALLERS = {
    "anonymous": ".*",
    "admin": ".*",
    "bot": "^/api/v1/(reports|telegram)",
}


@pytest.mark.parametrize("caller", sorted(CALLERS))
async def test_api_fuzz(settings: Settings, caller: str, tmp_path: Path) -> None:
    backend = Backend(fuzz_settings(settings), free_port())
    await backend.start()
    try:
        await seed_reports(backend)
        headers = {}
        if caller != "anonymous":
            headers["Authorization"] = f"Bearer {await backend.peek.token(caller, None)}"
        async with ClientSession() as http, http.get(f"{backend.url}/api/openapi.json") as got:
            document = await got.json()
        result = await run_schemathesis(backend.url, tmp_path, headers, CALLERS[caller])
    finally:
        await backend.stop()
    operations = sum(
        len(methods)
        for path, methods in document["paths"].items()
        if re.search(CALLERS[caller], path)
    )
    # Every operation the live document lists was tested, none errored, nothing failed.
    assert result["operations"]["selected"] == operations, result["operations"]
    assert result["operations"]["tested"] == operations, result["operations"]
    assert result["operations"]["errored"] == 0, result["errors"]
    assert result["failures"] == [], result["failures"]
    assert result["test_cases"]["generated"] >= operations * MAX_EXAMPLES, result["test_cases"]
