"""The near-duplicate image index of one service instance, kept in step with the database.

Every stored hash of every evidence image is a row in `image_hashes`; this instance holds
them in a `matching.hashindex.HashIndex` keyed by evidence id. It is built from the
database at start and, before every lookup, catches up with rows written since (by any
instance) through an id watermark, so several instances behind one PostgreSQL agree.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from db.models import ImageHash
from matching.fingerprints import DEFAULT_HASH_TYPE, Fingerprint, HashType, Unhashable
from matching.hashindex import HashIndex


def fingerprint(data: bytes, hash_type: HashType = DEFAULT_HASH_TYPE) -> Fingerprint | None:
    """The image's fingerprint, or None when it is too small or too plain to tell apart."""
    try:
        return hash_type.compute(data)
    except Unhashable:
        return None


def hash_rows(evidence_id: int, fp: Fingerprint, hash_type: HashType) -> list[dict[str, Any]]:
    """The values of the `ImageHash` rows that store `fp`'s index hashes (not its
    query-only probes)."""
    width = hash_type.bits // 8
    names = fp.names or ()
    return [
        {
            "evidence_id": evidence_id,
            "algorithm": hash_type.name,
            "variant": names[i] if i < len(names) else f"stored-{i}",
            "value": value.to_bytes(width, "big"),
        }
        for i, value in enumerate(fp.stored)
    ]


@dataclass(frozen=True, slots=True)
class ImageHit:
    """A stored image near one image of the submission (`image`: its position there)."""

    image: int
    evidence_id: int
    distance: int


class ImageIndex:
    """This instance's copy of every stored image hash, caught up from the database by id."""

    def __init__(self, hash_type: HashType = DEFAULT_HASH_TYPE) -> None:
        self.hash_type = hash_type
        self.index = HashIndex(bits=hash_type.bits)
        self.watermark = 0
        self._lock = threading.Lock()

    def catch_up(self, session: Session) -> int:
        """Add the hashes stored since the last call; returns how many were added.

        Called from intake's writer (a thread of its own on SQLite) and from the event
        loop: the rows are read outside the lock, and only those still above the watermark
        are added, so two calls at once add each hash once and never wait on each other's
        query.
        """
        rows = session.exec(
            select(ImageHash.id, ImageHash.evidence_id, ImageHash.value)
            .where(col(ImageHash.id) > self.watermark)
            .where(ImageHash.algorithm == self.hash_type.name)
            .order_by(col(ImageHash.id))
        ).all()
        with self._lock:
            fresh = [row for row in rows if row[0] is not None and row[0] > self.watermark]
            if not fresh:
                return 0
            self.index.add_many(
                [evidence for _, evidence, _ in fresh],
                [int.from_bytes(value, "big") for _, _, value in fresh],
            )
            self.index.flush()
            self.watermark = max(row_id for row_id, _, _ in fresh if row_id is not None)
            return len(fresh)

    def lookup(
        self, fingerprints: Sequence[Fingerprint | None], nearest: int | None = None
    ) -> list[ImageHit]:
        """Stored images within the match radius of each fingerprint, nearest first; with
        `nearest`, only that many of them for each fingerprint.

        None stands for an image that has no fingerprint (too small or too plain).
        """
        hits: list[ImageHit] = []
        for position, fp in enumerate(fingerprints):
            if fp is None:
                continue
            # Ranked by distance, then evidence id: the first are the nearest.
            found = self.index.query_many(fp.query_hashes, self.hash_type.threshold)
            hits += [ImageHit(position, evidence_id, d) for evidence_id, d in found[:nearest]]
        return sorted(hits, key=lambda hit: (hit.distance, hit.evidence_id, hit.image))


def group_images(files: Sequence[bytes], hash_type: HashType = DEFAULT_HASH_TYPE) -> list[int]:
    """A group number per image: images in one group are the same picture for intake.

    Groups are the connected components of the match relation (matching is not
    transitive, so a chain of near-duplicates is one group, as intake would make it one
    case). Numbers follow the order of each group's first image; an image without a
    fingerprint is a group of its own.
    """
    prints = [fingerprint(data, hash_type) for data in files]
    index = HashIndex(bits=hash_type.bits)
    for position, fp in enumerate(prints):
        if fp is not None:
            index.add_many([position] * len(fp.stored), list(fp.stored))
    index.flush()
    parent = list(range(len(files)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for position, fp in enumerate(prints):
        if fp is None:
            continue
        for other, _ in index.query_many(fp.query_hashes, hash_type.threshold):
            a, b = root(position), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    numbers: dict[int, int] = {}
    return [numbers.setdefault(root(i), len(numbers)) for i in range(len(files))]
