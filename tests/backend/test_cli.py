"""The `wildflag` command line: analyze, tokens, db upgrade, units."""

from __future__ import annotations

import io
import json

from db.units import seed_unit_rules
from extension_backend.cli import _line_error, analyze_lines
from extension_backend.errors import ApiError
from extension_backend.intake import listing_facts
from extension_backend.requests import validate
from extension_backend.schemas import build_schemas
from extension_backend.settings import Settings
from extension_backend.species_store import load_matcher
from matching.analysis import analyze
from matching.routing import UnitRule
from matching.urls import InvalidURL
from tests.helpers import run_wildflag


def test_analyze_reads_json_lines_and_writes_one_line_each(tmp_path):
    lines = [
        {"id": 1, "text": "Rhino horn, 200 g", "url": "https://www.olx.co.id/item/abc-iid-1"},
        {"id": "b", "text": "Vintage ivory-coloured wedding dress", "reporter_country": "FR"},
        {"id": 3, "text": "x", "reporter_country": "Narnia"},
        {"id": 4, "title": "Kaufe Graupapagei", "text": "Abholung in Berlin, Deutschland"},
    ]
    # A line that is JSON but no object ("[1]", "NaN") is an error of its own, with no id.
    stdin = "\n".join(json.dumps(line) for line in lines) + "\n\n{broken\n[1]\nNaN\n"
    result = run_wildflag("analyze", data_dir=tmp_path / "data", stdin=stdin)
    assert result.returncode == 1  # some lines failed; the others were still answered
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, "b", 3, 4, None, None, None]

    rhino, dress, bad, parrot, broken, array, nan = out
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
    assert array["error"]["code"] == nan["error"]["code"] == "invalid_body"
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


def _analyze_lines_the_long_way(lines: list[str], settings: Settings, units: list[UnitRule]) -> str:
    """`analyze_lines` as it was: a dump of the model and `json.dumps` for every line."""
    model = build_schemas(settings).analyze
    matcher = load_matcher(settings)
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            fields = validate(model, data).model_dump()
            analysis = analyze(listing_facts(fields), units, matcher)
            result = {"id": fields.get("id"), **analysis.to_dict()}
        except json.JSONDecodeError as exc:
            result = _line_error(None, "malformed_json", f"line {number}: {exc}")
        except ApiError as exc:
            result = _line_error(data.get("id"), exc.code, exc.message, exc.field)
        except InvalidURL as exc:
            result = _line_error(data.get("id"), "invalid_url", str(exc), "url")
        out.append(json.dumps(result, ensure_ascii=False) + "\n")
    return "".join(out)


def test_analyze_lines_writes_what_the_long_way_wrote(tmp_path):
    rows = [
        {"id": 1, "title": " Kaufe Graupapagei \n aus Zucht ", "text": "Abholung in Berlin"},
        {"id": "ß-7", "text": "Elfenbein 象牙 \ud83d\udc18 \u2028 tusk", "reporter_country": "fr"},
        {"id": None, "url": "https://WWW.EBAY.CO.UK/itm/x/284512345678?_trksid=1#a"},
        {"url": "https://bücher.example/ivory", "text": "rhino horn, 1 kg", "images": ["a.jpg"]},
        {"id": 2**70, "url": "http://8.8.8.8:8080/item?id=1", "text": "pangolin scales"},
        {"id": 3, "url": "https://127.0.0.1/x", "text": "ivory"},
        {"id": 4, "url": "https://www.ebay.com/itm/1\u202e2"},
        {"id": 5, "url": "ftp://example.com/x"},
        {"id": 6, "text": "a\u0000b"},
        {"id": 7, "no\u0000te": "x"},
        {"id": 8, "text": "ivory", "seller": "x"},
        {"id": True, "text": "ivory"},
        {"id": 9.5, "text": "ivory"},
        {"id": 10, "reporter_country": "Narnia"},
        {"id": 11, "text": "x" * 100_001},
    ]
    lines = [json.dumps(row, ensure_ascii=ascii) + "\n" for row in rows for ascii in (True, False)]
    lines += ["\n", "  \n", "{broken\n", '{"id": 1, "id": 2, "text": "NaN"}\n']
    lines += ['{"id": 12, "text": "\\ud800 lone"}\n']
    settings = Settings(data_dir=tmp_path)
    units = seed_unit_rules()
    out = io.StringIO()
    failures = analyze_lines(io.StringIO("".join(lines)), out, settings, units)
    expected = _analyze_lines_the_long_way(lines, settings, units)
    assert out.getvalue() == expected
    assert failures == expected.count('"error": {')
    assert 10 < failures < len(lines) - 10
