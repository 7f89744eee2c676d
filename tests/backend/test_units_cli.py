"""`wildflag units`: add, edit and show units, their filters and delivery channels."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from extension_backend.cli import main
from tests.helpers import run_wildflag

HOOK = "https://nwcu.example.org/hook"


def test_units_channel_add_list_remove(tmp_path):
    added = run_wildflag(
        "units", "channel", "add", "gb", "--type", "webhook",
        "--target", "https://nwcu.example.org/hook", data_dir=tmp_path,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    secret = added.stdout.strip()
    assert added.stdout == secret + "\n" and len(secret) >= 32  # generated, printed alone

    noop = run_wildflag(
        "units", "channel", "add", "GB", "--type", "noop", "--target", "demo",
        "--secret", "given", data_dir=tmp_path,
    )  # fmt: skip
    assert noop.returncode == 0, noop.stderr
    assert noop.stdout == ""  # a given secret is not echoed

    listed = run_wildflag("units", "channel", "list", "GB", "--json", data_dir=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [json.loads(line) for line in listed.stdout.splitlines()] == [
        {"index": 0, "type": "webhook", "target": HOOK, "secret": secret},
        {"index": 1, "type": "noop", "target": "demo", "secret": "given"},
    ]
    plain = run_wildflag("units", "channel", "list", "GB", data_dir=tmp_path)
    assert secret not in plain.stdout
    assert plain.stdout.splitlines()[0].split("\t")[:3] == [
        "0", "webhook", "https://nwcu.example.org/hook"
    ]  # fmt: skip

    # One channel of a type per unit (one outbox row per report, unit and channel).
    again = run_wildflag(
        "units", "channel", "add", "GB", "--type", "webhook", "--target", "https://x.test/h",
        data_dir=tmp_path,
    )  # fmt: skip
    assert again.returncode == 2 and "already has a webhook channel" in again.stderr

    removed = run_wildflag("units", "channel", "remove", "GB", "0", data_dir=tmp_path)
    assert removed.returncode == 0, removed.stderr
    listed = run_wildflag("units", "channel", "list", "GB", "--json", data_dir=tmp_path)
    assert [json.loads(line)["type"] for line in listed.stdout.splitlines()] == ["noop"]

    with sqlite3.connect(tmp_path / "wildflag.sqlite3") as db:
        audited = db.execute(
            "SELECT action, details FROM audit_events WHERE action LIKE 'channel.%' ORDER BY id"
        ).fetchall()
    assert [(action, json.loads(details)["type"]) for action, details in audited] == [
        ("channel.added", "webhook"),
        ("channel.added", "noop"),
        ("channel.removed", "webhook"),
    ]
    assert all(secret not in details for _, details in audited)

    missing = run_wildflag("units", "channel", "remove", "GB", "5", data_dir=tmp_path)
    assert missing.returncode == 2 and "no channel 5" in missing.stderr
    unknown = run_wildflag("units", "channel", "list", "QQ", data_dir=tmp_path)
    assert unknown.returncode == 2 and "no unit 'QQ'" in unknown.stderr
    bad_url = run_wildflag(
        "units", "channel", "add", "FR", "--type", "webhook", "--target", "ftp://x",
        data_dir=tmp_path,
    )  # fmt: skip
    assert bad_url.returncode == 2 and "http(s)://" in bad_url.stderr
    mail = run_wildflag(
        "units", "channel", "add", "FR", "--type", "email", "--target", "ofb@example.fr",
        data_dir=tmp_path,
    )  # fmt: skip
    assert mail.returncode == 0 and mail.stdout == ""  # no secret for e-mail
    chat = run_wildflag(
        "units", "channel", "add", "FR", "--type", "telegram", "--target", "not a chat",
        data_dir=tmp_path,
    )  # fmt: skip
    assert chat.returncode == 2 and "chat id" in chat.stderr


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """`wildflag` in this process, for speed; a few checks run the real command too."""
    for key in [k for k in os.environ if k.startswith("WILDFLAG_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("WILDFLAG_DATA_DIR", str(tmp_path))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        try:
            status = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            status = int(exc.code or 0)
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), status, captured.out, captured.err)

    return run


def _audit(data_dir: Path) -> list[tuple[str, str, str, dict]]:
    """The unit audit rows the CLI wrote: (actor, action, unit code, details)."""
    with closing(sqlite3.connect(data_dir / "wildflag.sqlite3")) as db:
        rows = db.execute(
            "SELECT actor, action, object_id, details FROM audit_events "
            "WHERE object_type = 'unit' ORDER BY id"
        ).fetchall()
    return [(actor, action, code, json.loads(details)) for actor, action, code, details in rows]


def _show(cli: Any, code: str) -> dict:
    shown = cli("units", "show", code, "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def test_units_add_show_list(tmp_path, cli):
    added = run_wildflag(
        "units", "add", "gb-flora", "--name", "UK CITES flora", "--countries", "gb GG je",
        "--appendices", "i II", "--taxa", "Orchidaceae Dalbergia", "--reporter-cases",
        data_dir=tmp_path,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "unit GB-FLORA added" in added.stderr and added.stdout == ""

    unit = _show(cli, "GB-FLORA")
    assert {k: unit[k] for k in ("code", "name", "kind", "active", "reporter_cases")} == {
        "code": "GB-FLORA", "name": "UK CITES flora", "kind": "national", "active": True,
        "reporter_cases": True,
    }  # fmt: skip
    assert unit["countries"] == ["GB", "GG", "JE"]
    assert unit["appendices"] == ["I", "II"]
    assert unit["taxa"] == ["Dalbergia", "Orchidaceae"]

    plain = cli("units", "show", "gb-flora")
    assert plain.returncode == 0, plain.stderr
    assert "taxa: Dalbergia, Orchidaceae" in plain.stdout.splitlines()
    assert "reporter cases: yes" in plain.stdout.splitlines()

    listed = cli("units", "list").stdout.splitlines()
    [flora] = [line for line in listed if line.startswith("GB-FLORA\t")]
    assert flora.split("\t") == [
        "GB-FLORA", "national", "GB GG JE", "UK CITES flora",
        "appendices I II; taxa Dalbergia, Orchidaceae; reporter cases",
    ]  # fmt: skip
    [gb] = [line for line in listed if line.startswith("GB\t")]
    assert len(gb.split("\t")) == 4  # a unit without filters is listed as before

    coordinating = cli("units", "add", "ASEAN-WEN", "--name", "ASEAN-WEN", "--kind", "coordinating")
    assert coordinating.returncode == 0, coordinating.stderr
    assert _show(cli, "ASEAN-WEN")["countries"] == []

    assert _audit(tmp_path) == [
        ("cli", "unit.created", "GB-FLORA", {
            "name": "UK CITES flora", "kind": "national", "countries": ["GB", "GG", "JE"],
            "appendices": ["I", "II"], "taxa": ["Dalbergia", "Orchidaceae"],
            "reporter_cases": True,
        }),
        ("cli", "unit.created", "ASEAN-WEN", {
            "name": "ASEAN-WEN", "kind": "coordinating", "countries": [], "appendices": [],
            "taxa": [], "reporter_cases": False,
        }),
    ]  # fmt: skip


def test_units_add_refuses_bad_input(tmp_path, cli):
    def add(*extra: str) -> subprocess.CompletedProcess[str]:
        return cli("units", "add", *extra)

    duplicate = add("fr", "--name", "France again", "--countries", "FR")
    assert duplicate.returncode == 2 and "unit FR already exists" in duplicate.stderr
    country = add("X1", "--name", "x", "--countries", "GB UK QQ")
    assert country.returncode == 2 and "unknown country codes: UK, QQ" in country.stderr
    appendix = add("X1", "--name", "x", "--countries", "GB", "--appendices", "I IV")
    assert appendix.returncode == 2 and "unknown appendices: IV" in appendix.stderr
    taxa = add("X1", "--name", "x", "--countries", "GB", "--taxa", "Orchidaceae 123")
    assert taxa.returncode == 2 and "not taxon names: 123" in taxa.stderr
    no_countries = add("X1", "--name", "x")
    assert no_countries.returncode == 2 and "needs --countries" in no_countries.stderr
    code = add("X", "--name", "x", "--countries", "GB")
    assert code.returncode == 2 and "unit code 'X'" in code.stderr
    for refused in (duplicate, country, appendix, taxa, no_countries, code):
        assert refused.stdout == ""
    assert cli("units", "show", "X1").returncode == 2
    assert _show(cli, "FR")["name"] != "France again"
    assert _audit(tmp_path) == []


def test_units_edit(tmp_path, cli):
    edited = cli(
        "units", "edit", "th", "--taxa", "Dalbergia nigra, Orchidaceae", "--appendices", "I",
        "--reporter-cases",
    )  # fmt: skip
    assert edited.returncode == 0, edited.stderr
    assert "unit TH: taxa (none) → Dalbergia nigra, Orchidaceae" in edited.stderr
    unit = _show(cli, "TH")
    assert unit["taxa"] == ["Dalbergia nigra", "Orchidaceae"]
    assert unit["appendices"] == ["I"] and unit["reporter_cases"] is True

    cleared = cli(
        "units", "edit", "TH", "--taxa", "", "--no-reporter-cases", "--inactive",
        "--name", "Thailand DNP", "--countries", "TH",
    )  # fmt: skip
    assert cleared.returncode == 0, cleared.stderr
    unit = _show(cli, "TH")
    assert (unit["taxa"], unit["reporter_cases"], unit["active"]) == ([], False, False)
    assert (unit["name"], unit["appendices"], unit["countries"]) == ("Thailand DNP", ["I"], ["TH"])
    again = cli("units", "edit", "TH", "--active")
    assert again.returncode == 0 and _show(cli, "TH")["active"] is True
    same = cli("units", "edit", "TH", "--active")
    assert same.returncode == 0 and "unchanged" in same.stderr

    audit = _audit(tmp_path)
    assert [(actor, action, code) for actor, action, code, _ in audit] == [
        ("cli", "unit.updated", "TH")
    ] * 3  # the unchanged edit writes nothing
    assert audit[0][3] == {"changes": {
        "taxa": {"from": [], "to": ["Dalbergia nigra", "Orchidaceae"]},
        "appendices": {"from": [], "to": ["I"]},
        "reporter_cases": {"from": False, "to": True},
    }}  # fmt: skip
    assert audit[1][3]["changes"] == {
        "name": {"from": "Thailand", "to": "Thailand DNP"},
        "taxa": {"from": ["Dalbergia nigra", "Orchidaceae"], "to": []},
        "reporter_cases": {"from": True, "to": False},
        "active": {"from": True, "to": False},
    }  # countries were given unchanged: not recorded as a change


def test_units_edit_errors(tmp_path, cli):
    unknown = run_wildflag("units", "edit", "QQ", "--name", "x", data_dir=tmp_path)
    assert unknown.returncode == 2 and "no unit 'QQ'" in unknown.stderr
    nothing = cli("units", "edit", "FR")
    assert nothing.returncode == 2 and "nothing to change" in nothing.stderr
    country = cli("units", "edit", "FR", "--countries", "FR XX")
    assert country.returncode == 2 and "unknown country codes: XX" in country.stderr
    appendix = cli("units", "edit", "FR", "--appendices", "II V")
    assert appendix.returncode == 2 and "unknown appendices: V" in appendix.stderr
    emptied = cli("units", "edit", "FR", "--countries", "")
    assert emptied.returncode == 2 and "needs countries" in emptied.stderr
    both = cli("units", "edit", "FR", "--active", "--inactive")
    assert both.returncode == 2 and "not allowed with" in both.stderr
    unit = _show(cli, "FR")
    assert unit["countries"][0] == "FR" and unit["appendices"] == [] and unit["active"]
    shown = cli("units", "show", "QQ")
    assert shown.returncode == 2 and "no unit 'QQ'" in shown.stderr and shown.stdout == ""
    assert _audit(tmp_path) == []


def test_analyze_applies_unit_filters_and_the_reporters_unit(tmp_path, cli):
    for command in (
        ["units", "add", "GB-FLORA", "--name", "UK flora", "--countries", "GB", "--taxa",
         "Plantae", "--reporter-cases"],
        ["units", "edit", "TH", "--taxa", "Elasmobranchii"],
    ):  # fmt: skip
        done = cli(*command)
        assert done.returncode == 0, done.stderr
    orchids = "Paphiopedilum orchid plants for sale, ship from Bangkok, Thailand"
    lines = [
        {"id": "uk", "text": orchids, "reporter_country": "GB"},
        {"id": "fr", "text": orchids, "reporter_country": "FR"},
    ]
    analysed = run_wildflag(
        "analyze", stdin="".join(json.dumps(line) + "\n" for line in lines), data_dir=tmp_path
    )
    assert analysed.returncode == 0, analysed.stderr
    uk, fr = (json.loads(line) for line in analysed.stdout.splitlines())
    assert uk["country"] == fr["country"] == "TH"
    # TH takes only sharks: the coordinating unit has it, and the UK reporter's unit a copy.
    assert uk["units"] == ["COORD", "GB-FLORA"]
    assert fr["units"] == ["COORD"]


def test_a_webhook_to_an_internal_address_is_refused_unless_the_operator_allows_it(tmp_path):
    """The delivery guard's rule, at the command line: a loopback or metadata address in
    any spelling is refused when the channel is added, not at the first send."""
    for target in ("http://127.0.0.1:9000/hook", "http://2130706433/hook",
                   "http://169.254.169.254/latest/meta-data"):  # fmt: skip
        refused = run_wildflag(
            "units", "channel", "add", "GB", "--type", "webhook", "--target", target,
            data_dir=tmp_path,
        )  # fmt: skip
        assert refused.returncode == 2, target
        assert "delivery_allow_private_networks" in refused.stderr, refused.stderr
    listed = run_wildflag("units", "channel", "list", "GB", "--json", data_dir=tmp_path)
    assert listed.stdout == ""  # nothing was added

    allowed = run_wildflag(
        "units", "channel", "add", "GB", "--type", "webhook",
        "--target", "http://127.0.0.1:9000/hook", data_dir=tmp_path,
        WILDFLAG_DELIVERY_ALLOW_PRIVATE_NETWORKS='["127.0.0.0/8"]',
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr
