"""`wildflag export`: cases, reports and the Secretariat's figures from the command line."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from db.models import AuditEvent
from tests.helpers import run_wildflag

FR = {
    "url": "https://www.leboncoin.fr/annonce/123456",
    "text": "Écailles de pangolin, 500 g, remise en main propre à Lyon",
    "reporter_country": "FR",
}


async def _send(client, **fields) -> str:
    body = {
        "url": "https://www.ebay.co.uk/itm/1234567890",
        "title": "Pangolin scales 500 g",
        "text": "Genuine pangolin scales, 500 g, ships from London",
        "reporter_country": "GB",
        "seller": "zqxseller",
        **fields,
    }
    response = await client.post("/api/v1/reports", json=body)
    assert response.status == 201, await response.text()
    return (await response.json())["reference"]


def _export(settings, tmp_path, *args: str):
    done = run_wildflag(
        "export", *args, data_dir=tmp_path / "cli",
        WILDFLAG_DATABASE_URL=settings.effective_database_url,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


async def test_export_cases_reports_and_secretariat(client, settings, tmp_path, peek):
    gb = await _send(client)
    fr = await _send(client, **FR)

    done = _export(settings, tmp_path, "cases", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert not done.stdout.startswith("\ufeff")  # no BOM unless --bom
    assert sorted(r["units"] for r in rows) == ["FR", "GB"]  # every unit: the operator's
    assert "2 cases exported" in done.stderr

    done = _export(settings, tmp_path, "cases", "--format", "json", "--unit", "fr")
    (case,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert case["units"] == ["FR"]

    out = tmp_path / "reports.jsonl"
    done = _export(settings, tmp_path, "reports", "--format", "json", "--out", str(out))
    assert done.stdout == ""
    reports = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["reference"] for r in reports} == {gb, fr}
    assert all("reporter_account" not in r for r in reports)
    done = _export(settings, tmp_path, "reports", "--with-reporter", "--status", "new", "--bom")
    assert done.stdout.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(done.stdout.removeprefix("\ufeff"))))
    assert {r["reporter_account"] for r in rows} == {""}  # anonymous reports

    done = _export(settings, tmp_path, "reports", "--since", "2999-01-01")
    assert list(csv.DictReader(io.StringIO(done.stdout))) == []

    year = datetime.now(UTC).year
    done = _export(settings, tmp_path, "secretariat", "--year", str(year), "--format", "json")
    figures = json.loads(done.stdout)
    assert figures["figures"]["totals"]["all"] == {"reports": "<3", "cases": "<3"}
    assert "zqxseller" not in done.stdout and "ebay.co.uk/itm" not in done.stdout
    done = _export(settings, tmp_path, "secretariat", "--year", str(year), "--suppress-below", "1")
    assert "totals,all,reports,2" in done.stdout and done.stdout.startswith("# wildflag")

    events = await peek.rows(AuditEvent, AuditEvent.object_type == "export")
    assert {e.actor for e in events} == {"cli"}
    assert [e.action for e in events] == [
        "export.cases", "export.cases", "export.reports", "export.reports", "export.reports",
        "export.secretariat", "export.secretariat",
    ]  # fmt: skip
    assert events[1].details["filters"] == {"unit": "FR"} and events[1].details["rows"] == 1
    assert events[3].details["reporter_identity"] is True


def test_export_refuses_bad_filters(tmp_path):
    done = run_wildflag("export", "cases", "--since", "yesterday", data_dir=tmp_path)
    assert done.returncode == 2 and "Since is a date" in done.stderr
    done = run_wildflag("export", "cases", "--country", "GBR", data_dir=tmp_path)
    assert done.returncode == 2 and "two-letter" in done.stderr
