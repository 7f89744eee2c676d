"""`wildflag serve` as a user runs it: a real process, real HTTP, the README's example."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import WILDFLAG, run_wildflag, wildflag_env
from tests.live_backend import free_port

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example_report() -> dict:
    """The JSON body of the first `curl` example in the README."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"curl[^\n]*/api/v1/reports[^`]*?-d '(\{.*?\})'", text, re.S)
    assert match, "the README lost its curl example"
    return json.loads(match.group(1))


def call(base: str, path: str, body: dict | None = None, token: str | None = None):
    request = urllib.request.Request(base + path, method="POST" if body else "GET")
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


@pytest.fixture
def server(tmp_path):
    port = free_port()
    data_dir = tmp_path / "data"
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [WILDFLAG, "serve", "--port", str(port)],
            env=wildflag_env(data_dir),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if call(base, "/readyz")[0] == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"wildflag serve did not become ready:\n{log.read_text()}")
        time.sleep(0.2)
    yield base, data_dir, log
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def test_readme_example_end_to_end(server):
    base, data_dir, log = server
    example = readme_example_report()
    status, first = call(base, "/api/v1/reports", example)
    assert status == 201, first
    assert first["reference"].startswith("WF-") and first["receipt_token"]

    status, _ = call(base, f"/api/v1/reports/{first['reference']}")
    assert status == 401

    created = run_wildflag(
        "tokens", "create", "--role", "officer", "--unit", first["routed_to"][0],
        data_dir=data_dir,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    status, again = call(base, "/api/v1/reports", example, token=token)
    assert status == 201
    assert again["duplicate"] is True
    status, seen = call(base, f"/api/v1/reports/{first['reference']}", token=token)
    assert status == 200 and seen["case_id"] == again["case_id"]
    assert (data_dir / "wildflag.sqlite3").exists()
    access = [line for line in log.read_text().splitlines() if '"POST /api/v1/reports ' in line]
    assert len(access) == 2
    assert not any("127.0.0.1" in line for line in access)  # reporters' addresses not logged
