"""`wildflag species import`: files in the data dir, the merged matcher, the CLI and the service."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from extension_backend import species_store
from extension_backend.settings import Settings
from extension_backend.species_store import SpeciesImportError, import_file, load_matcher
from matching.species import default_matcher
from tests.conftest import shared_data
from tests.helpers import run_wildflag

# The 33 columns of an "Index of CITES Species" export, in its order.
CHECKLIST_HEADER = [
    "TaxonId", "Kingdom", "Phylum", "Class", "Order", "Family", "Genus", "Species", "Subspecies",
    "FullName", "AuthorYear", "RankName", "CurrentListing", "FullAnnotationEnglish",
    "AnnotationEnglish", "AnnotationSpanish", "AnnotationFrench", "#AnnotationSymbol",
    "#Annotation", "SynonymsWithAuthors", "EnglishNames", "SpanishNames", "FrenchNames",
    "CitesAccepted", "All_DistributionISOCodes", "All_DistributionFullNames",
    "NativeDistributionFullNames", "Introduced_Distribution", "Introduced(?)_Distribution",
    "Reintroduced_Distribution", "Extinct_Distribution", "Extinct(?)_Distribution",
    "Distribution_Uncertain",
]  # fmt: skip
NAMES_HEADER = ["scientific_name", "rank", "language", "common_name", "source_file"]


def checklist_row(
    taxon_id: int,
    full_name: str,
    rank: str,
    listing: str,
    *,
    kingdom: str = "Plantae",
    klass: str = "",
    order: str = "Caryophyllales",
    family: str = "Cactaceae",
    annotation: str = "",
    synonyms: str = "",
    english: str = "",
    spanish: str = "",
    french: str = "",
) -> dict[str, str]:
    genus, _, rest = full_name.partition(" ")
    return {
        **dict.fromkeys(CHECKLIST_HEADER, ""),
        "TaxonId": str(taxon_id),
        "Kingdom": kingdom,
        "Class": klass,
        "Order": order,
        "Family": family,
        "Genus": genus,
        "Species": rest,
        "FullName": full_name,
        "AuthorYear": "(Author, 1900)",
        "RankName": rank,
        "CurrentListing": listing,
        "#AnnotationSymbol": annotation,
        "#Annotation": f"Appendix {listing}: ",
        "SynonymsWithAuthors": synonyms,
        "EnglishNames": english,
        "SpanishNames": spanish,
        "FrenchNames": french,
        "CitesAccepted": "true",
        "All_DistributionISOCodes": "MX, US",
        "All_DistributionFullNames": "Mexico, United States of America",
    }


def small_checklist(astrophytum: str = "I") -> list[dict[str, str]]:
    """A few taxa the curated lexicon does not have (a made-up cactus among them, so that it
    never will), two it has, and two the checklist does not list."""
    return [
        checklist_row(
            1, "Astrophytum wildflagii", "SPECIES", astrophytum, annotation="#4",
            synonyms="Echinocactus wildflagii Zuccarini, 1845, Astrophytum wildflagii var. nudum "
            "(Fric, 1929) Backeberg", english="Star Cactus, Sea-urchin Cactus",
            spanish="Biznaga algodoncillo estrella",
        ),
        checklist_row(2, "Mammillaria herrerae", "SPECIES", "II", annotation="#4"),
        checklist_row(3, "Cactaceae", "FAMILY", "I/II/NC", english="Cacti"),
        checklist_row(
            4, "Panthera tigris", "SPECIES", "I", kingdom="Animalia", klass="Mammalia",
            order="Carnivora", family="Felidae", english="Tiger",
        ),
        checklist_row(
            5, "Leopardus zorblati", "SPECIES", "I", kingdom="Animalia", klass="Mammalia",
            order="Carnivora", family="Felidae", english="Zorblat", french="Zorblat",
        ),
        checklist_row(6, "Agapornis roseicollis", "SPECIES", "NC", kingdom="Animalia"),
        checklist_row(7, "Aloe vera", "SPECIES", "", family="Liliaceae"),
    ]  # fmt: skip


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    """`rows` as a CSV file; gzip-compressed when `path` ends in ".gz"."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = text.getvalue().encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def names_rows() -> list[dict[str, str]]:
    rows = [
        ("Astrophytum wildflagii", "SPECIES", "de", "Seeigelkaktus"),
        ("Astrophytum wildflagii", "SPECIES", "nl", "Zeeegelcactus"),
        ("Leopardus zorblati", "SPECIES", "es", "Zorblatito, Zorblatón"),
        ("Leopardus zorblati", "SPECIES", "zh", "猫虎"),
        ("Mammuthus primigenius", "SPECIES", "en", "Woolly mammoth"),
        ("Cactaceae", "GENUS", "en", "Wrong rank"),
    ]
    return [
        dict(zip(NAMES_HEADER, (*values, "lib/files/new_common_names.csv"), strict=True))
        for values in rows
    ]


@pytest.fixture
def data_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def test_import_stores_the_checklist_in_the_data_dir(tmp_path: Path, data_settings: Settings):
    source = write_csv(tmp_path / "Index_small.csv.gz", CHECKLIST_HEADER, small_checklist())
    report = import_file(data_settings, source)
    assert report.kind == "checklist" and report.source_file == "Index_small.csv.gz"
    assert report.counts["rows"] == 7 and report.counts["taxa"] == 5
    assert report.counts["not_listed"] == 2
    manifest = species_store.read_manifest(data_settings)
    assert manifest is not None
    source_info = manifest["sources"]["checklist"]
    assert source_info["sha256"] == report.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert source_info["source_file"] == "Index_small.csv.gz"
    assert source_info["imported_at"].endswith("+00:00")
    directory = species_store.species_dir(data_settings)
    stored = {path.name for path in directory.iterdir()}
    assert {"manifest.json", source_info["file"], manifest["imported"]["file"], "cache"} <= stored
    assert len(list((directory / "cache").glob("matcher-*.pickle"))) == 1
    imported_sha = manifest["imported"]["sha256"]
    assert report.version == f"{default_matcher().version}+imported.{imported_sha[:8]}"


def test_plain_and_gzip_files_import_alike(tmp_path: Path):
    rows = small_checklist()
    plain = import_file(
        Settings(data_dir=tmp_path / "a"), write_csv(tmp_path / "x.csv", CHECKLIST_HEADER, rows)
    )
    gzipped = import_file(
        Settings(data_dir=tmp_path / "b"), write_csv(tmp_path / "x.csv.gz", CHECKLIST_HEADER, rows)
    )
    assert plain.counts == gzipped.counts and plain.merge == gzipped.merge


def test_matcher_uses_curated_and_imported_together(tmp_path: Path, data_settings: Settings):
    assert load_matcher(data_settings) is default_matcher()  # nothing imported yet
    import_file(data_settings, write_csv(tmp_path / "c.csv", CHECKLIST_HEADER, small_checklist()))
    matcher = load_matcher(data_settings)
    assert matcher is load_matcher(data_settings)  # once per process
    found = {m.taxon: m for m in matcher.find("Astrophytum wildflagii seedlings and rhino horn")}
    assert found["Astrophytum wildflagii"].appendix == "I"
    assert found["Astrophytum wildflagii"].kind == "scientific"
    assert "Rhinocerotidae" in found  # a curated trade term
    synonym = matcher.find("Echinocactus wildflagii")
    assert [m.taxon for m in synonym] == ["Astrophytum wildflagii"]
    assert matcher.find("Aloe vera gel") == []


def test_reimport_replaces_listings_and_keeps_curated_terms(
    tmp_path: Path, data_settings: Settings
):
    import_file(data_settings, write_csv(tmp_path / "c.csv", CHECKLIST_HEADER, small_checklist()))
    first = load_matcher(data_settings)
    again = write_csv(tmp_path / "c2.csv", CHECKLIST_HEADER, small_checklist(astrophytum="II"))
    report = import_file(data_settings, again)
    second = load_matcher(data_settings)
    assert second.version != first.version and second.version == report.version
    assert [m.appendix for m in second.find("Astrophytum wildflagii")] == ["II"]
    assert {m.taxon for m in second.find("tiger bone wine")} == {"Panthera tigris"}
    assert {m.taxon for m in second.find("rhino horn")} == {"Rhinocerotidae"}
    directory = species_store.species_dir(data_settings)
    assert len(list(directory.glob("checklist-*.json"))) == 1  # the old import is gone
    assert len(list((directory / "cache").iterdir())) == 1


def test_cached_matcher_is_read_back(tmp_path: Path, data_settings: Settings, monkeypatch):
    import_file(data_settings, write_csv(tmp_path / "c.csv", CHECKLIST_HEADER, small_checklist()))
    version = load_matcher(data_settings).version
    species_store._forget_memo()

    def no_build(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the cached matcher should have been used")

    monkeypatch.setattr(species_store, "_build_and_cache", no_build)
    assert load_matcher(data_settings).version == version


def test_stale_or_broken_cache_is_rebuilt(tmp_path: Path, data_settings: Settings):
    import_file(data_settings, write_csv(tmp_path / "c.csv", CHECKLIST_HEADER, small_checklist()))
    cache = species_store.species_dir(data_settings) / "cache"
    (pickled,) = cache.glob("matcher-*.pickle")
    pickled.write_bytes(b"not a pickle")
    species_store._forget_memo()
    matcher = load_matcher(data_settings)
    assert [m.taxon for m in matcher.find("Mammillaria herrerae")] == ["Mammillaria herrerae"]
    assert pickled.read_bytes() != b"not a pickle"


def test_common_names_join_the_imported_taxa(tmp_path: Path, data_settings: Settings):
    names = write_csv(tmp_path / "names.csv.gz", NAMES_HEADER, names_rows())
    early = import_file(data_settings, names)  # before any checklist: kept, joined later
    assert early.kind == "common_names" and early.version is None
    assert load_matcher(data_settings) is default_matcher()
    report = import_file(
        data_settings, write_csv(tmp_path / "c.csv", CHECKLIST_HEADER, small_checklist())
    )
    assert report.combined["names_joined"] == 5
    assert report.combined["taxa_skipped"] == 2 and report.combined["names_skipped"] == 2
    matcher = load_matcher(data_settings)
    assert {m.taxon for m in matcher.find("Seeigelkaktus Samen")} == {"Astrophytum wildflagii"}
    assert {m.taxon for m in matcher.find("Zorblat fur coat")} == {"Leopardus zorblati"}
    assert matcher.find("Zorblatón") == []  # one language, short: the precision guard
    assert matcher.find("猫虎") == []  # two characters of a script without spaces


def test_not_an_export_is_refused(tmp_path: Path, data_settings: Settings):
    other = tmp_path / "other.csv"
    other.write_text("id,text\n1,hello\n", encoding="utf-8")
    with pytest.raises(SpeciesImportError, match="not a CITES checklist export"):
        import_file(data_settings, other)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage" * 100)
    with pytest.raises(SpeciesImportError):
        import_file(data_settings, binary)
    assert species_store.read_manifest(data_settings) is None


# -- the command line ---------------------------------------------------------------------------


def test_cli_import_status_and_analyze(tmp_path: Path):
    data = tmp_path / "data"
    source = write_csv(tmp_path / "Index_small.csv", CHECKLIST_HEADER, small_checklist())
    imported = run_wildflag("species", "import", str(source), data_dir=data)
    assert imported.returncode == 0, imported.stderr
    assert "imported checklist Index_small.csv" in imported.stdout
    assert "5 listed taxa" in imported.stdout and "2 not listed" in imported.stdout
    assert imported.stderr == ""  # no progress bar off a terminal
    names = write_csv(tmp_path / "names.csv", NAMES_HEADER, names_rows())
    with_bar = run_wildflag("species", "import", str(names), "--progress", data_dir=data)
    assert with_bar.returncode == 0, with_bar.stderr
    assert "reading 100%" in with_bar.stderr and "names.csv" in with_bar.stderr

    status = run_wildflag("species", "status", "--json", data_dir=data)
    info = json.loads(status.stdout)
    assert info["sources"]["checklist"]["source_file"] == "Index_small.csv"
    assert info["sources"]["common_names"]["source_file"] == "names.csv"
    assert info["cache_current"] is True and "+imported." in info["version"]
    human = run_wildflag("species", "status", data_dir=data)
    assert "matcher in force: " + info["version"] in human.stdout

    lines = [
        {"id": 1, "text": "Vendo Astrophytum wildflagii, semillas"},
        {"id": 2, "text": "Rhino horn, 200 g"},
        {"id": 3, "text": "Summer dress, size 12"},
    ]
    stdin = "".join(json.dumps(line) + "\n" for line in lines)
    analyzed = run_wildflag("analyze", data_dir=data, stdin=stdin)
    assert analyzed.returncode == 0, analyzed.stderr
    cactus, rhino, dress = (json.loads(line) for line in analyzed.stdout.splitlines())
    assert cactus["flagged"] is True
    assert [(s["taxon"], s["appendix"]) for s in cactus["species"]] == [
        ("Astrophytum wildflagii", "I")
    ]
    assert cactus["lexicon_version"] == info["version"]
    assert rhino["flagged"] is True and dress["flagged"] is False


def test_cli_reports_bad_files(tmp_path: Path):
    missing = run_wildflag("species", "import", str(tmp_path / "nope.csv"), data_dir=tmp_path)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n", encoding="utf-8")
    refused = run_wildflag("species", "import", str(other), data_dir=tmp_path)
    assert refused.returncode == 2 and "not a CITES checklist export" in refused.stderr
    status = run_wildflag("species", "status", data_dir=tmp_path)
    assert status.returncode == 0 and "nothing imported" in status.stdout


# -- the service ----------------------------------------------------------------------------------


async def test_service_analyzes_with_the_imported_lexicon(tmp_path, settings, make_client):
    source = write_csv(tmp_path / "c.csv", CHECKLIST_HEADER, small_checklist())
    import_file(settings, source)
    client = await make_client(settings)
    response = await client.post(
        "/api/v1/analyze", json={"id": "c1", "text": "Astrophytum wildflagii, 3 plants"}
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert [(s["taxon"], s["appendix"]) for s in body["species"]] == [
        ("Astrophytum wildflagii", "I")
    ]
    assert body["lexicon_version"] == load_matcher(settings).version


# -- the real checklist (reference data beside the repository) ------------------------------------


@pytest.fixture(scope="module")
def real_import(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    checklist_file = shared_data("cites", "Index_of_CITES_Species_2017-04-21.csv.gz")
    names_file = shared_data("cites", "common_names_multilingual.csv.gz")
    settings = Settings(data_dir=tmp_path_factory.mktemp("real") / "data")
    import_file(settings, names_file)  # names first: the matcher is built once, not twice
    import_file(settings, checklist_file)
    return settings


def _real_listing(full_name: str) -> str:
    path = shared_data("cites", "Index_of_CITES_Species_2017-04-21.csv.gz")
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["FullName"] == full_name:
                return row["CurrentListing"]
    raise AssertionError(f"{full_name} not in the export")


def test_real_checklist_taxa_are_recognised(real_import: Settings):
    lines = [
        {"id": "cactus", "text": "Vendo Ariocarpus kotschoubeyanus, planta adulta"},
        {"id": "orchid", "text": "Paphiopedilum rothschildianum seedling, blooming size"},
        {"id": "parrot", "text": "Live African grey parrot"},
    ]
    stdin = "".join(json.dumps(line) + "\n" for line in lines)
    result = run_wildflag("analyze", data_dir=real_import.data_dir, stdin=stdin)
    assert result.returncode == 0, result.stderr
    out = {line["id"]: line for line in map(json.loads, result.stdout.splitlines())}
    assert not any(
        m.taxon == "Ariocarpus kotschoubeyanus" for m in default_matcher().find(lines[0]["text"])
    )  # only the checklist has it
    for ident, taxon in (
        ("cactus", "Ariocarpus kotschoubeyanus"),
        ("orchid", "Paphiopedilum rothschildianum"),
    ):
        species = out[ident]["species"]
        match = next(s for s in species if s["taxon"] == taxon)
        assert match["appendix"] == _real_listing(taxon) == "I"
        assert match["kind"] == "scientific"
    assert out["parrot"]["species"][0]["taxon"] == "Psittacus erithacus"


def test_real_import_flags_no_plain_listing(real_import: Settings):
    """The precision guard: the full import flags no plain listing the curated lexicon does not."""
    path = Path(__file__).resolve().parent.parent / "data" / "non_wildlife_listings.txt"
    plain = [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(plain) > 300
    matcher = load_matcher(real_import)
    curated = default_matcher()
    added = {
        text: [(m.taxon, m.term) for m in matcher.find(text)]
        for text in plain
        if matcher.find(text) and not curated.find(text)
    }
    assert added == {}
