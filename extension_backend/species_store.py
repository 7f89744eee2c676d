"""Imported species data in the data dir, and the matcher built from it and the curated lexicon.

`import_file` reads a checklist export or a common-names file (gzip or plain CSV, told apart
by its header), keeps what it parsed under `settings.data_dir / "species"` and rebuilds the
matcher cache, so the next start is fast. `load_matcher` is what the service and
`wildflag analyze` use: the curated lexicon alone when nothing is imported, else curated +
imported (see `matching.checklist.merge`), loaded from the cache when it is current.

Layout of the species dir (never in the repository):

    manifest.json               what is imported: each source's file name, SHA-256,
                                imported_at and counts; the combined lexicon's file and
                                SHA-256; what the last merge kept and rejected
    checklist-<sha>.json        the parsed checklist (listed and not-listed taxa)
    common_names-<sha>.json     the parsed common names, all of them (joined at combine time,
                                so a later checklist import joins them again)
    imported-<sha>.json         the combined imported lexicon the matcher is built from
    cache/matcher-<key>.pickle  the built SpeciesMatcher, keyed by the curated lexicon, the
                                imported lexicon and the code of `matching` (the matcher and
                                the merge rules): any change of one of them misses the cache

Every file is written to a temporary name and renamed into place; the manifest is written
last, so a crash mid-import leaves the previous import in force. Re-importing a checklist
replaces the imported listings; the curated lexicon is never touched and keeps its trade
terms and code words.

The cache is a pickle: whoever can write the data dir can run code through it, as they can
already alter the database and evidence there. It is never read from anywhere else.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gc
import gzip
import hashlib
import importlib
import inspect
import io
import json
import logging
import os
import pickle
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import IO, Any

import matching
from extension_backend.settings import Settings
from matching import checklist, jurisdiction
from matching import species as species_module
from matching.species import SpeciesMatcher, default_matcher, default_version

log = logging.getLogger(__name__)

FORMAT = 1  # of manifest.json and the parsed files; a change makes old imports unreadable
CURATED_RESOURCE = "data/lexicon.json"
GZIP_MAGIC = b"\x1f\x8b"
CSV_FIELD_LIMIT = 64 * 1024 * 1024  # the export's distribution fields run past csv's 128 KiB
PROBE_APPENDICES = ("I", "II", "III", "I/II", "I/III", "II/III", "I/II/III")

#: Called with (stage, done, total): stage "reading" counts bytes of the input file; other
#: stages ("combining", "building") have no total (0) and are reported once when they start.
Progress = Callable[[str, int, int], None]


class SpeciesImportError(ValueError):
    """A file that cannot be imported; the message says why, for the operator."""


def species_dir(settings: Settings) -> Path:
    """Where imported species data lives: `data_dir/species`."""
    return settings.data_dir / "species"


# -- reading a CSV file, gzip or plain, with its digest and progress --------------------------


class _Counting(io.RawIOBase):
    """A raw binary file that hashes what is read through it and reports progress."""

    def __init__(self, handle: IO[bytes], total: int, progress: Progress | None) -> None:
        self._handle = handle
        self.total = total
        self.done = 0
        self.sha256 = hashlib.sha256()
        self._progress = progress
        self._reported = 0.0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._handle.readinto(buffer)  # type: ignore[attr-defined]
        if count:
            self.sha256.update(memoryview(buffer)[:count])
            self.done += count
            now = time.monotonic()
            if self._progress and (now - self._reported >= 0.1 or self.done == self.total):
                self._reported = now
                self._progress("reading", self.done, self.total)
        return count or 0

    def drain(self) -> None:
        """Read the rest of the file, so the digest covers all of it."""
        while self.read(1 << 20):
            pass


@contextlib.contextmanager
def _open_csv(
    path: Path, progress: Progress | None
) -> Iterator[tuple[csv.DictReader[str], _Counting]]:
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    with open(path, "rb") as handle:
        counting = _Counting(handle, os.fstat(handle.fileno()).st_size, progress)
        buffered = io.BufferedReader(counting, buffer_size=1 << 20)
        binary: IO[bytes] = buffered
        if buffered.peek(2)[:2] == GZIP_MAGIC:
            binary = gzip.GzipFile(fileobj=buffered, mode="rb")
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        yield csv.DictReader(text), counting


# -- writing ---------------------------------------------------------------------------------


def _write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename; never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # make the rename durable where directories sync
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _write_content_named(directory: Path, stem: str, value: Any) -> tuple[str, str]:
    """Write `value` as JSON to `<stem>-<sha>.json`; returns (file name, sha256)."""
    data = _json_bytes(value)
    digest = hashlib.sha256(data).hexdigest()
    name = f"{stem}-{digest[:16]}.json"
    target = directory / name
    if not target.exists():
        _write_atomic(target, data)
    return name, digest


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One import at a time per data dir (advisory lock; where fcntl exists)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def read_manifest(settings: Settings) -> dict[str, Any] | None:
    """The manifest of what is imported, or None when nothing is."""
    path = species_dir(settings) / "manifest.json"
    try:
        manifest = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    if manifest.get("format") != FORMAT:
        raise SpeciesImportError(
            f"{path} is of format {manifest.get('format')}, this wildflag reads {FORMAT}: "
            "import the files again"
        )
    return dict(manifest)


def _read_json(directory: Path, name: str) -> Any:
    return json.loads((directory / name).read_bytes())


# -- importing -------------------------------------------------------------------------------


@dataclass(slots=True)
class ImportReport:
    """What one `import_file` did, for the command line to print."""

    kind: str  # checklist.CHECKLIST or checklist.COMMON_NAMES
    source_file: str
    sha256: str
    counts: dict[str, int]
    combined: dict[str, int] = field(default_factory=dict)
    merge: dict[str, int] = field(default_factory=dict)
    version: str | None = None  # of the matcher now in force; None without a checklist
    replaced: list[str] = field(default_factory=list)  # "Taxon: I → II", curated listings
    seconds: float = 0.0


def import_file(
    settings: Settings,
    path: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Import a checklist export or a common-names CSV (gzip or plain) into the data dir.

    Raises `SpeciesImportError` for a file that is not one of the two, FileNotFoundError for a
    missing one. Replaces the previous import of the same kind; the other kind is kept and
    the two are combined again.
    """
    started = time.perf_counter()
    source = Path(path)
    directory = species_dir(settings)
    with _open_csv(source, progress) as (reader, counting):
        try:
            kind = checklist.detect_kind(reader.fieldnames or [])
        except ValueError as exc:
            raise SpeciesImportError(f"{source.name}: {exc}") from None
        except (UnicodeDecodeError, OSError, EOFError, zlib.error, csv.Error) as exc:
            raise SpeciesImportError(f"{source.name}: not a readable CSV file ({exc})") from None
        try:
            if kind == checklist.CHECKLIST:
                parsed = checklist.parse_checklist(reader, f"checklist:{source.name}")
                body: dict[str, Any] = {"taxa": parsed.taxa, "not_listed": parsed.not_listed}
                counts = dict(parsed.counts)
            else:
                names = checklist.parse_common_names(reader)
                body = {"names": names.names}
                counts = dict(names.counts)
            counting.drain()
        except (UnicodeDecodeError, OSError, EOFError, zlib.error, csv.Error) as exc:
            raise SpeciesImportError(f"{source.name}: unreadable ({exc})") from None
    if kind == checklist.CHECKLIST and not counts.get("taxa"):
        raise SpeciesImportError(f"{source.name}: no listed taxon in the file")
    digest = counting.sha256.hexdigest()
    meta = {
        "kind": kind,
        "source_file": source.name,
        "sha256": digest,
        "bytes": counting.done,
        "imported_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "counts": counts,
    }
    report = ImportReport(kind=kind, source_file=source.name, sha256=digest, counts=counts)
    with _locked(directory):
        previous = read_manifest(settings) or {"format": FORMAT, "sources": {}}
        sources: dict[str, Any] = dict(previous.get("sources", {}))
        name, _ = _write_content_named(directory, kind, {"format": FORMAT, **meta, **body})
        sources[kind] = {**meta, "file": name}
        manifest: dict[str, Any] = {"format": FORMAT, "sources": sources}
        if checklist.CHECKLIST in sources:
            if progress:
                progress("combining", 0, 0)
            manifest["imported"], report.combined = _combine(directory, sources)
            if progress:
                progress("building", 0, 0)
            matcher, merge_info = _build_and_cache(settings, manifest)
            manifest["merge"] = merge_info
            report.merge = merge_info["counts"]
            report.replaced = merge_info["examples"].get("listing_replaced", [])
            report.version = matcher.version
        _write_atomic(directory / "manifest.json", _json_bytes(manifest))
        _remove_unreferenced(directory, manifest)
    _forget_memo()
    report.seconds = time.perf_counter() - started
    return report


def _combine(directory: Path, sources: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    """Join the stored checklist and common names; write the imported lexicon."""
    parsed = _read_json(directory, sources[checklist.CHECKLIST]["file"])
    names = None
    if checklist.COMMON_NAMES in sources:
        names = _read_json(directory, sources[checklist.COMMON_NAMES]["file"])["names"]
    version = "checklist." + sources[checklist.CHECKLIST]["sha256"][:8]
    if checklist.COMMON_NAMES in sources:
        version += "+names." + sources[checklist.COMMON_NAMES]["sha256"][:8]
    lexicon, counts = checklist.combine(parsed["taxa"], names, version, parsed["not_listed"])
    lexicon["source"] = ", ".join(s["source_file"] for s in sources.values())
    name, digest = _write_content_named(directory, "imported", lexicon)
    info = {"file": name, "sha256": digest, "taxa": len(lexicon["taxa"]), "counts": dict(counts)}
    return info, dict(counts)


def _remove_unreferenced(directory: Path, manifest: Mapping[str, Any]) -> None:
    keep = {source["file"] for source in manifest.get("sources", {}).values()}
    if manifest.get("imported"):
        keep.add(manifest["imported"]["file"])
    for path in directory.glob("*.json"):
        if path.name != "manifest.json" and path.name not in keep:
            path.unlink(missing_ok=True)


# -- the matcher -------------------------------------------------------------------------------


def _curated_bytes() -> bytes:
    return resources.files("matching").joinpath(CURATED_RESOURCE).read_bytes()


@functools.cache
def _code_fingerprint() -> str:
    """SHA-256 of the code and data a cached matcher depends on, and of Python's version.

    That is the source of `matching.species`, `matching.text`, `matching.checklist` and of
    every other `matching` module the species module refers to, plus the files of
    `matching/data/`: a change to the matcher, its folding, its data or the merge rules
    misses the cache; a change elsewhere in `matching` (URLs, jurisdiction) does not.
    """
    modules = {"matching.species", "matching.text", "matching.checklist"}
    for value in vars(species_module).values():
        name = value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None)
        if isinstance(name, str) and name.startswith("matching."):
            modules.add(name)
    paths = [Path(inspect.getfile(importlib.import_module(name))) for name in sorted(modules)]
    paths += sorted((Path(matching.__file__).parent / "data").glob("*"))
    digest = hashlib.sha256(f"{sys.version}|{pickle.HIGHEST_PROTOCOL}|{FORMAT}".encode())
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _cache_key(curated: bytes, imported_sha256: str) -> str:
    digest = hashlib.sha256()
    for part in (hashlib.sha256(curated).hexdigest(), imported_sha256, _code_fingerprint()):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def _version(imported_sha256: str) -> str:
    """The merged lexicon's version: the curated matcher's version, then the import's digest.

    "curated-2026.11.0+1a2b3c4d+imported.5e6f7a8b": whatever the curated version covers
    (its lexicon, and any data the matcher reads with it) plus the imported lexicon.
    """
    return f"{default_version()}+imported.{imported_sha256[:8]}"


@functools.cache
def _matcher_accepts(appendix: str, rank: str) -> bool:
    """Whether `SpeciesMatcher` builds a taxon with this appendix and rank (asked, not assumed).

    The checklist writes listings such as "I/NC" and ranks such as VARIETY that a matcher
    may or may not take; the merge fits or skips what it does not (`checklist.merge`).
    """
    probe = {
        "version": "probe",
        "taxa": [
            {
                "taxon": "Probus probatus",
                "rank": rank,
                "family": None,
                "order": None,
                "class": None,
                "appendix": appendix,
                "scientific": ["Probus probatus"],
            }
        ],
    }
    try:
        SpeciesMatcher(probe, "probe")
    except ValueError:
        return False
    return True


def _accepted(imported: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    values = {entry["appendix"] for entry in imported.get("taxa", [])}
    values |= {checklist.fit_appendix(v, PROBE_APPENDICES) or v for v in values}
    appendices = {v for v in values if _matcher_accepts(v, "SPECIES")}
    ranks = {rank for rank in checklist.RANKS if _matcher_accepts("II", rank)}
    return appendices, ranks


def merged_lexicon(
    curated: Mapping[str, Any], imported: Mapping[str, Any]
) -> checklist.MergeResult:
    """`checklist.merge` fitted to what this process's `SpeciesMatcher` accepts."""
    appendices, ranks = _accepted(imported)
    return checklist.merge(curated, imported, appendices=appendices, ranks=ranks)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Garbage collection paused: building or unpickling a million small objects runs 2x faster."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build_and_cache(
    settings: Settings, manifest: Mapping[str, Any]
) -> tuple[SpeciesMatcher, dict[str, Any]]:
    """Merge, build the matcher, and write it to the cache (or the merged JSON if it will not
    pickle). Returns the matcher and what the merge did."""
    directory = species_dir(settings)
    curated_raw = _curated_bytes()
    imported_info = manifest["imported"]
    imported = _read_json(directory, imported_info["file"])
    result = merged_lexicon(json.loads(curated_raw), imported)
    version = _version(imported_info["sha256"])
    with _no_gc():
        matcher = SpeciesMatcher(result.lexicon, version)
    key = _cache_key(curated_raw, imported_info["sha256"])
    cache = directory / "cache"
    try:
        data = pickle.dumps(matcher, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        log.warning("matcher does not pickle (%s); caching the merged lexicon instead", exc)
        _write_atomic(cache / f"lexicon-{key[:32]}.json", _json_bytes(result.lexicon))
        kept = f"lexicon-{key[:32]}.json"
    else:
        _write_atomic(cache / f"matcher-{key[:32]}.pickle", data)
        kept = f"matcher-{key[:32]}.pickle"
    for old in cache.iterdir():
        if old.name != kept and not old.name.startswith("."):
            old.unlink(missing_ok=True)
    info = {
        "version": version,
        "counts": dict(sorted(result.counts.items())),
        "examples": result.examples,
        "cache": kept,
    }
    return matcher, info


_MEMO: dict[tuple[Path, str], SpeciesMatcher] = {}
_MEMO_LOCK = threading.Lock()


def _forget_memo() -> None:
    with _MEMO_LOCK:
        _MEMO.clear()


def load_matcher(settings: Settings) -> SpeciesMatcher:
    """The matcher for this deployment: curated + imported, or the curated one alone.

    Loaded once per process and data dir; from the cache when it matches the curated
    lexicon, the imported lexicon and the code; otherwise built and cached again.
    """
    manifest = read_manifest(settings)
    if not manifest or not manifest.get("imported"):
        return default_matcher()
    curated_raw = _curated_bytes()
    imported_sha = manifest["imported"]["sha256"]
    key = _cache_key(curated_raw, imported_sha)
    directory = species_dir(settings)
    with _MEMO_LOCK:
        memo = _MEMO.get((directory, key))
        if memo is not None:
            return memo
        matcher = _load_cached(directory, key, _version(imported_sha))
        if matcher is None:
            log.info("species matcher cache is stale or missing; rebuilding (takes seconds)")
            matcher, _ = _build_and_cache(settings, manifest)
        _MEMO[(directory, key)] = matcher
        return matcher


def _load_cached(directory: Path, key: str, version: str) -> SpeciesMatcher | None:
    cache = directory / "cache"
    pickled = cache / f"matcher-{key[:32]}.pickle"
    merged = cache / f"lexicon-{key[:32]}.json"
    try:
        if pickled.exists():
            with _no_gc():
                matcher = pickle.loads(pickled.read_bytes())  # noqa: S301 - our own cache in the data dir, see the module docstring
        elif merged.exists():
            with _no_gc():
                matcher = SpeciesMatcher(json.loads(merged.read_bytes()), version)
        else:
            return None
    except Exception as exc:  # any unreadable cache is rebuilt, never fatal
        log.warning("species matcher cache %s unreadable (%s); rebuilding", cache, exc)
        return None
    if not isinstance(matcher, SpeciesMatcher) or matcher.version != version:
        return None
    return matcher


def place_cache_dir(settings: Settings) -> Path:
    """Where the place index of the jurisdiction inference is cached: `data_dir/cache`."""
    return settings.data_dir / "cache"


def load_place_index(settings: Settings) -> None:
    """Have `matching.jurisdiction` use the place index cached in the data dir, or build it
    and cache it there for the next process (`wildflag analyze` starts a process per run;
    building takes a second, reading the cache a hundredth). Keyed by
    `jurisdiction.place_index_fingerprint`; a stale, unreadable or unwritable cache only
    costs the build. The same trust as the matcher cache: see the module docstring. A data
    dir that does not exist is not created: analysing stores nothing where nothing is."""
    key = jurisdiction.place_index_fingerprint()
    directory = place_cache_dir(settings)
    path = directory / f"places-{key[:32]}.pickle"
    try:
        if path.exists():
            with _no_gc():
                index = pickle.loads(path.read_bytes())  # noqa: S301 - our own cache in the data dir, see the module docstring
            if jurisdiction.install_place_index(index):
                return
    except Exception as exc:  # any unreadable cache is rebuilt, never fatal
        log.warning("place index cache %s unreadable (%s); rebuilding", path, exc)
    if not settings.data_dir.is_dir():
        return  # built on first use, as without a cache
    data = pickle.dumps(jurisdiction.place_index(), protocol=pickle.HIGHEST_PROTOCOL)
    try:
        _write_atomic(path, data)
        for old in directory.glob("places-*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("place index not cached in %s (%s)", directory, exc)


def ready_place_index(settings: Settings) -> None:
    """Have the place index in memory before a service takes its first report, read from
    the data dir's cache or built (and cached): left to the first report, its second of
    building would hold every request behind it. Nothing to do when this process has it."""
    if not jurisdiction.place_index_built():
        load_place_index(settings)
        jurisdiction.place_index()


def status(settings: Settings) -> dict[str, Any]:
    """What is imported and which matcher is in force, for `wildflag species status`."""
    curated_raw = _curated_bytes()
    out: dict[str, Any] = {
        "data_dir": str(species_dir(settings)),
        "curated_version": default_version(),
        "curated_taxa": len(json.loads(curated_raw).get("taxa", [])),
    }
    manifest = read_manifest(settings)
    if not manifest:
        out["imported"] = None
        out["version"] = out["curated_version"]
        return out
    out["sources"] = manifest.get("sources", {})
    imported = manifest.get("imported")
    out["imported"] = imported
    if imported:
        key = _cache_key(curated_raw, imported["sha256"])
        cache = species_dir(settings) / "cache"
        out["version"] = _version(imported["sha256"])
        out["cache_current"] = any(
            (cache / f"{stem}-{key[:32]}{ext}").exists()
            for stem, ext in (("matcher", ".pickle"), ("lexicon", ".json"))
        )
        out["merge"] = manifest.get("merge", {})
    return out
