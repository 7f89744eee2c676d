"""Sanity of the seed directory of units, `db/data/units.csv`.

Provenance: one national unit per State Party to CITES as of 2025 (184 States; the European
Union is also a Party but has no unit of its own), coded by ISO 3166-1 alpha-2 and named by its
common English name from pycountry; each unit covers its own country plus the dependent
territories for which that Party is responsible; one coordinating unit, COORD, covers nothing
and catches every case no national unit claims. Written for wildflag from pycountry and the
CITES list of Parties (not copied from any data file); see db/data/README.md.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pycountry
import pytest

UNITS_CSV = Path(__file__).resolve().parents[2] / "db" / "data" / "units.csv"
ISO2 = frozenset(country.alpha_2 for country in pycountry.countries)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with UNITS_CSV.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["code", "name", "kind", "countries"]
        return list(reader)


def national(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [row for row in rows if row["kind"] == "national"]


def test_every_row_is_complete(rows: list[dict[str, str]]) -> None:
    for row in rows:
        assert row["code"] and row["code"] == row["code"].strip()
        assert row["name"] and row["name"] == row["name"].strip()
        assert row["kind"] in {"national", "coordinating"}


def test_codes_are_unique(rows: list[dict[str, str]]) -> None:
    duplicates = [code for code, n in Counter(row["code"] for row in rows).items() if n > 1]
    assert duplicates == []


def test_national_units_are_coded_by_iso2_and_cover_their_own_country(
    rows: list[dict[str, str]],
) -> None:
    for row in national(rows):
        countries = row["countries"].split()
        assert row["code"] in ISO2, row
        assert countries[0] == row["code"], row
        assert row["countries"] == " ".join(countries), row  # single spaces, no stray blanks
        assert set(countries) <= ISO2, row
        assert len(countries) == len(set(countries)), row


def test_every_country_is_covered_by_at_most_one_national_unit(
    rows: list[dict[str, str]],
) -> None:
    owners = Counter(code for row in national(rows) for code in row["countries"].split())
    assert [code for code, n in owners.items() if n > 1] == []


def test_exactly_one_coordinating_unit_covering_nothing(rows: list[dict[str, str]]) -> None:
    coordinating = [row for row in rows if row["kind"] == "coordinating"]
    assert [(row["code"], row["countries"]) for row in coordinating] == [("COORD", "")]


def test_number_of_national_units(rows: list[dict[str, str]]) -> None:
    assert 180 <= len(national(rows)) <= 190


def test_known_parties_and_territories(rows: list[dict[str, str]]) -> None:
    units = {row["code"]: set(row["countries"].split()) for row in national(rows)}
    assert {"HK", "MO"} <= units["CN"]
    assert {"GI", "BM", "KY", "FK"} <= units["GB"]
    assert {"RE", "GF", "NC", "PF"} <= units["FR"]
    assert {"AW", "CW", "SX", "BQ"} <= units["NL"]
    assert {"GL", "FO"} <= units["DK"]
    assert {"PR", "GU", "VI"} <= units["US"]
    assert "PS" in units  # a Party since 2015
    assert "NA" in units  # Namibia: read as text, never as a missing value
    for non_party in ("AD", "KP", "TV", "VA", "TW"):
        assert non_party not in units
    assert not any("TW" in countries for countries in units.values())
