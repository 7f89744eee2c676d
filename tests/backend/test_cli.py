"""The `wildflag` command line: analyze, tokens, db upgrade, units."""

from __future__ import annotations

import json

from tests.helpers import run_wildflag


def test_analyze_reads_json_lines_and_writes_one_line_each(tmp_path):
    lines = [
        {"id": 1, "text": "Rhino horn, 200 g", "url": "https://www.olx.co.id/item/abc-iid-1"},
        {"id": "b", "text": "Vintage ivory-coloured wedding dress", "reporter_country": "FR"},
        {"id": 3, "text": "x", "reporter_country": "Narnia"},
        {"id": 4, "title": "Kaufe Graupapagei", "text": "Abholung in Berlin, Deutschland"},
    ]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\n\n{broken\n"
    result = run_wildflag("analyze", data_dir=tmp_path / "data", stdin=stdin)
    assert result.returncode == 1  # some lines failed; the others were still answered
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, "b", 3, 4, None]

    rhino, dress, bad, parrot, broken = out
    for key in ("flagged", "priority", "species", "country", "country_reasons", "units"):
        assert key in rhino
    assert rhino["flagged"] is True and rhino["priority"] == "critical"
    assert rhino["country"] == "ID" and rhino["units"] == ["ID"]
    assert dress["flagged"] is False and dress["species"] == []
    # The reporter's country alone names no country: it is kept as a reason, and the case
    # goes to the coordinating unit.
    assert dress["country"] is None and dress["units"] == ["COORD"]
    assert [r["signal"] for r in dress["country_reasons"]] == ["reporter_country"]
    assert bad["error"]["field"] == "reporter_country"
    assert parrot["species"][0]["taxon"] == "Psittacus erithacus"
    assert parrot["country"] == "DE"
    assert broken["error"]["code"] == "malformed_json"
    assert not (tmp_path / "data").exists()  # nothing stored, not even a database


def test_tokens_create_prints_only_the_token(tmp_path):
    result = run_wildflag(
        "tokens", "create", "--role", "officer", "--unit", "fr", "--name", "Officer Dupont",
        data_dir=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert result.stdout == token + "\n" and token.startswith("wf_") and len(token) > 40
    again = run_wildflag("tokens", "create", "--role", "officer", data_dir=tmp_path)
    assert again.returncode == 2 and "--unit" in again.stderr and again.stdout == ""
    unknown = run_wildflag(
        "tokens", "create", "--role", "officer", "--unit", "QQ", data_dir=tmp_path
    )
    assert unknown.returncode == 2 and "no unit 'QQ'" in unknown.stderr


def test_db_upgrade_and_units_list(tmp_path):
    upgrade = run_wildflag("db", "upgrade", data_dir=tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    assert (tmp_path / "wildflag.sqlite3").exists()
    listed = run_wildflag("units", "list", "--json", data_dir=tmp_path)
    units = [json.loads(line) for line in listed.stdout.splitlines()]
    codes = {u["code"] for u in units}
    assert {"COORD", "FR", "KE", "VN", "BR"} <= codes
    assert next(u for u in units if u["code"] == "CN")["countries"][0] == "CN"
