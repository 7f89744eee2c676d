"""Which image hash survives reposting: recall per edit and false matches, per candidate.

Run: `.venv/bin/python benchmarks/image_robustness.py [--synthetic N] [--workers N]`.

Pictures: the 13 CC0 originals of ../shared/data/images/cc0 (skipped with a message when that
folder is absent) plus N synthetic photo-like pictures from a fixed seed (1/f "natural"
light, shapes, blur, sensor noise; common photo aspect ratios). Each is edited the ways
listings are reposted (resize, JPEG q30, centred and one-sided crops, watermark, borders,
brightness, contrast, grey, mirror, screenshot, rotations) and saved as JPEG q90.

For every candidate hash, at its threshold:
* recall per edit: the edited copy matches its original (either may have arrived first);
* false matches among all pairs of distinct originals, and among every edited copy against
  every *other* original (must be 0);
* the closest unrelated distance, and the largest threshold with no false match;
* the known facts of the CC0 set (three re-encoded variants match; hubble pair and
  horse ↔ eagle do not).

Baselines in the same run: ImageHash's whole-image pHash (64 and 256 bits) and, when the
`pdqhash` package is installed, Meta's PDQ with its 8 dihedral hashes.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one hashing process per core, as in service

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matching.fingerprints import PHash64, PHash256, Unhashable  # noqa: E402

CC0 = ROOT.parent / "shared" / "data" / "images" / "cc0"
CHOSEN = "phash256.v1"  # the candidate whose distances are detailed

Hashes = tuple[list[int], list[int]]  # (stored, query) of one picture


# --- candidates --------------------------------------------------------------------------------


def _plain_rgb(data: bytes) -> Image.Image:
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")
    return image.convert("RGB")


@dataclass(frozen=True)
class Candidate:
    name: str
    bits: int
    threshold: int
    note: str

    def hashes(self, data: bytes) -> Hashes | None:
        raise NotImplementedError


@dataclass(frozen=True)
class WholeImagePHash(Candidate):
    hash_side: int = 16

    def hashes(self, data: bytes) -> Hashes | None:
        import imagehash

        value = int(str(imagehash.phash(_plain_rgb(data), hash_size=self.hash_side)), 16)
        return [value], [value]


@dataclass(frozen=True)
class PDQ(Candidate):
    def hashes(self, data: bytes) -> Hashes | None:
        import pdqhash

        pixels = np.asarray(_plain_rgb(data))
        variants, _quality = pdqhash.compute_dihedral(pixels)
        values = [int("".join("1" if b else "0" for b in v), 2) for v in variants]
        return [values[0]], values


@dataclass(frozen=True)
class Ours(Candidate):
    kind: str = "phash256.v1"

    def hashes(self, data: bytes) -> Hashes | None:
        hash_type = PHash256() if self.kind == "phash256.v1" else PHash64()
        try:
            fingerprint = hash_type.compute(data)
        except Unhashable:
            return None
        return list(fingerprint.stored), list(fingerprint.query_hashes)


def candidates() -> list[Candidate]:
    found: list[Candidate] = [
        WholeImagePHash("imagehash-phash64", 64, 10, "whole image, ImageHash default", 8),
        WholeImagePHash("imagehash-phash256", 256, 31, "whole image, hash_size=16", 16),
    ]
    try:
        import pdqhash  # noqa: F401

        found.append(PDQ("pdq+dihedral", 256, 31, "Meta PDQ, published threshold 31"))
    except ImportError:
        print("(pdqhash not installed: PDQ left out)")
    found += [
        Ours(
            "phash64.v1", 64, PHash64.threshold, "ours: 64-bit, windows+zooms+probes", "phash64.v1"
        ),
        Ours(CHOSEN, 256, PHash256.threshold, "ours: windows+zooms+probes", CHOSEN),
    ]
    return found


# --- pictures and edits ------------------------------------------------------------------------


def synthetic_photo(rng: np.random.Generator, scale: float = 1.0) -> Image.Image:
    """A photo-like picture: 1/f light (as in natural images), shapes, blur and noise."""
    if rng.random() < 0.7:
        aspect = float(rng.choice([1, 4 / 3, 3 / 2, 16 / 9, 3 / 4, 2 / 3, 9 / 16]))
    else:
        aspect = float(np.exp(rng.uniform(np.log(0.5), np.log(2))))
    side = rng.uniform(350, 900) * scale
    width, height = int(side * min(1, aspect)), int(side * min(1, 1 / aspect))
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    radius = np.sqrt(fx**2 + fy**2)
    radius[0, 0] = 1
    beta = rng.uniform(1.6, 2.4)
    channels = []
    for _ in range(3):
        spectrum = (rng.normal(size=radius.shape) + 1j * rng.normal(size=radius.shape)) / (
            radius ** (beta / 2)
        )
        spectrum[0, 0] = 0
        field = np.fft.irfft2(spectrum, s=(height, width))
        channels.append((field - field.mean()) / (field.std() + 1e-9))
    mix = np.zeros((3, 3))
    mix[:, 0] = 1.0  # light is mostly shared by the colour channels, as in photos
    mix[:, 1:] = rng.normal(size=(3, 2)) * rng.uniform(0.1, 0.6)
    pixels = np.tensordot(mix, np.stack(channels), axes=1)
    pixels = pixels * rng.uniform(25, 60) + rng.uniform(60, 190, size=(3, 1, 1))
    image = Image.fromarray(np.clip(pixels.transpose(1, 2, 0), 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 7))):
        x0, x1 = sorted(int(v) for v in rng.integers(0, width, 2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, height, 2))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        shape = int(rng.integers(0, 3))
        if shape == 0:
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        elif shape == 1:
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        else:
            points = [
                (int(rng.integers(0, width)), int(rng.integers(0, height)))
                for _ in range(int(rng.integers(3, 7)))
            ]
            draw.polygon(points, fill=fill)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.5)))
    noisy = np.asarray(image, dtype=np.float32) + rng.normal(
        0, rng.uniform(1, 8), size=(height, width, 3)
    )
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def crop(image: Image.Image, left=0.0, top=0.0, right=0.0, bottom=0.0) -> Image.Image:
    w, h = image.size
    return image.crop(
        (round(w * left), round(h * top), w - round(w * right), h - round(h * bottom))
    )


def watermark(image: Image.Image) -> Image.Image:
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    w, h = image.size
    small = ImageFont.load_default(size=max(10, h // 14))
    big = ImageFont.load_default(size=max(10, h // 9))
    draw.text(
        (w * 0.05, h * 0.80),
        "WhatsApp +84 912 345 678",
        font=small,
        fill=(255, 255, 255, 170),
        stroke_width=1,
        stroke_fill=(0, 0, 0, 120),
    )
    draw.text((w * 0.25, h * 0.40), "shop.example", font=big, fill=(255, 255, 255, 90))
    return Image.alpha_composite(image.convert("RGBA"), layer).convert("RGB")


def border(image: Image.Image, fraction: float, colour: str) -> Image.Image:
    return ImageOps.expand(image, border=round(max(image.size) * fraction), fill=colour)


def screenshot(image: Image.Image) -> Image.Image:
    """Downscaled, upscaled again, framed in a phone-like screen with a dark status bar."""
    w, h = image.size
    small = image.resize((max(1, int(w * 0.45)), max(1, int(h * 0.45))), Image.Resampling.BILINEAR)
    blurred = small.resize((w, h), Image.Resampling.BICUBIC)
    canvas = Image.new("RGB", (w + 2 * round(w * 0.03), round(h * 1.35)), (250, 250, 250))
    canvas.paste(blurred, (round(w * 0.03), round(h * 0.12)))
    ImageDraw.Draw(canvas).rectangle((0, 0, canvas.size[0], round(h * 0.05)), fill=(20, 20, 20))
    return canvas


def to_shorter_side(image: Image.Image, side: int) -> Image.Image:
    scale = side / min(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


T = Image.Transpose
EDITS: dict[str, Callable[[Image.Image], bytes]] = {
    "resize 0.5x": lambda im: jpeg(im.resize((im.width // 2, im.height // 2), Image.LANCZOS)),
    "resize 2x": lambda im: jpeg(im.resize((im.width * 2, im.height * 2), Image.LANCZOS)),
    "jpeg q30": lambda im: jpeg(im, 30),
    "crop 5% centred": lambda im: jpeg(crop(im, 0.025, 0.025, 0.025, 0.025)),
    "crop 10% centred": lambda im: jpeg(crop(im, 0.05, 0.05, 0.05, 0.05)),
    "crop 5% left": lambda im: jpeg(crop(im, left=0.05)),
    "crop 10% left": lambda im: jpeg(crop(im, left=0.10)),
    "crop 5% right": lambda im: jpeg(crop(im, right=0.05)),
    "crop 10% right": lambda im: jpeg(crop(im, right=0.10)),
    "crop 5% top": lambda im: jpeg(crop(im, top=0.05)),
    "crop 10% top": lambda im: jpeg(crop(im, top=0.10)),
    "crop 5% bottom": lambda im: jpeg(crop(im, bottom=0.05)),
    "crop 10% bottom": lambda im: jpeg(crop(im, bottom=0.10)),
    "watermark text": lambda im: jpeg(watermark(im)),
    "border 5% white": lambda im: jpeg(border(im, 0.05, "white")),
    "border 10% black": lambda im: jpeg(border(im, 0.10, "black")),
    "brightness +20%": lambda im: jpeg(ImageEnhance.Brightness(im).enhance(1.2)),
    "brightness -20%": lambda im: jpeg(ImageEnhance.Brightness(im).enhance(0.8)),
    "contrast +20%": lambda im: jpeg(ImageEnhance.Contrast(im).enhance(1.2)),
    "contrast -20%": lambda im: jpeg(ImageEnhance.Contrast(im).enhance(0.8)),
    "grayscale": lambda im: jpeg(im.convert("L")),
    "mirror": lambda im: jpeg(ImageOps.mirror(im)),
    "screenshot": lambda im: jpeg(screenshot(im)),
    "rotate 90": lambda im: jpeg(im.transpose(T.ROTATE_90)),
    "rotate 180": lambda im: jpeg(im.transpose(T.ROTATE_180)),
    "(extra) shorter side 64px": lambda im: jpeg(to_shorter_side(im, 64)),
    "(extra) shorter side 32px": lambda im: jpeg(to_shorter_side(im, 32)),
}


# --- distances ----------------------------------------------------------------------------


def words(values: list[int], bits: int) -> np.ndarray:
    """Hashes as rows of uint64 words (popcount-friendly)."""
    raw = b"".join(v.to_bytes(bits // 8, "big") for v in values)
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(len(values), bits // 64)


def min_query_to_stored(
    queries: list[Hashes | None], stored: list[Hashes | None], bits: int
) -> np.ndarray:
    """M[i, j] = smallest distance from a query hash of i to a stored hash of j (inf if none)."""
    owners, rows = [], []
    for j, hashes in enumerate(stored):
        if hashes is not None:
            owners += [j] * len(hashes[0])
            rows += hashes[0]
    table = words(rows, bits)
    owner = np.array(owners)
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    out = np.full((len(queries), len(stored)), 10**6, dtype=np.int64)
    for i, hashes in enumerate(queries):
        if hashes is None:
            continue
        q = words(hashes[1], bits)
        d = np.bitwise_count(q[:, None, :] ^ table[None, :, :]).sum(axis=2).min(axis=0)
        out[i, owner[starts]] = np.minimum.reduceat(d, starts)
    return out


def pair_distances(a: list[Hashes | None], b: list[Hashes | None], bits: int) -> np.ndarray:
    """D[i, j] = fingerprint distance of a[i] and b[j], whichever was stored first."""
    return np.minimum(min_query_to_stored(a, b, bits), min_query_to_stored(b, a, bits).T)


# --- the run ------------------------------------------------------------------------------

_IMAGES: list[Image.Image] = []


def _init(images: list[Image.Image]) -> None:
    _IMAGES[:] = images


def _hash_job(job: tuple[str | None, int]) -> list[Hashes | None]:
    edit, index = job
    image = _IMAGES[index]
    data = jpeg(image, 95) if edit is None else EDITS[edit](image)
    return [candidate.hashes(data) for candidate in candidates_cached()]


_CANDIDATES: list[Candidate] = []


def candidates_cached() -> list[Candidate]:
    if not _CANDIDATES:
        _CANDIDATES.extend(candidates())
    return _CANDIDATES


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=200, help="synthetic pictures")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if not CC0.is_dir():
        print(f"reference images not found at {CC0}: nothing measured")
        return 0
    started = time.perf_counter()
    cc0 = {p.name: p.read_bytes() for p in sorted(CC0.iterdir()) if p.is_file()}
    names = [n for n in cc0 if not n.startswith("variant_")]
    rng = np.random.default_rng(20240611)
    images = [_plain_rgb(cc0[n]) for n in names] + [
        synthetic_photo(rng) for _ in range(args.synthetic)
    ]
    names += [f"synthetic-{i:03d}" for i in range(args.synthetic)]
    cands = candidates_cached()
    print(
        f"{len(images)} pictures ({len(names) - args.synthetic} CC0 + {args.synthetic} synthetic)"
    )
    print(f"{len(EDITS)} edits, {len(cands)} candidates, {args.workers} workers")

    jobs = [(edit, i) for edit in [None, *EDITS] for i in range(len(images))]
    with ProcessPoolExecutor(args.workers, initializer=_init, initargs=(images,)) as pool:
        results = list(pool.map(_hash_job, jobs, chunksize=8))
    per_edit: dict[str | None, list[list[Hashes | None]]] = {}
    for (edit, _), hashes in zip(jobs, results, strict=True):
        per_edit.setdefault(edit, []).append(hashes)

    def column(edit: str | None, c: int) -> list[Hashes | None]:
        return [row[c] for row in per_edit[edit]]

    recall: dict[str, list[float]] = {edit: [] for edit in EDITS}
    spread: dict[str, tuple[float, int]] = {}
    summary = []
    for c, cand in enumerate(cands):
        originals = column(None, c)
        base = pair_distances(originals, originals, cand.bits)
        off = ~np.eye(len(images), dtype=bool)
        unrelated = [base[off]]
        false_originals = int((base[off] <= cand.threshold).sum()) // 2
        false_edited = 0
        for edit in EDITS:
            edited = column(edit, c)
            d = pair_distances(edited, originals, cand.bits)
            recall[edit].append(float((np.diag(d) <= cand.threshold).mean()))
            if cand.name == CHOSEN:
                own = np.diag(d)
                spread[edit] = (float(np.percentile(own, 98)), int(own.max()))
            if not edit.startswith("(extra)"):
                false_edited += int((d[off] <= cand.threshold).sum())
                unrelated.append(d[off])
        closest = int(np.concatenate(unrelated).min())
        unhashable = sum(h is None for h in originals)
        summary.append((cand, false_originals, false_edited, closest, unhashable))

    width = max(len(e) for e in EDITS) + 2
    header = "edit".ljust(width) + "".join(f"{c.name:>20}" for c in cands)
    header += f"{CHOSEN + ' p98/max d':>26}"
    print("\nrecall per edit (edited copy matches its original, at each candidate's threshold)")
    print(header)
    print("-" * len(header))
    for edit in EDITS:
        cells = "".join(f"{r:>20.3f}" for r in recall[edit])
        p98, worst = spread.get(edit, (float("nan"), -1))
        print(edit.ljust(width) + cells + f"{p98:>20.0f} /{worst:>4}")
    print("-" * len(header))
    main_edits = [e for e in EDITS if not e.startswith("(extra)")]
    rows = {
        "worst recall (main edits)": [
            min(recall[e][c] for e in main_edits) for c in range(len(cands))
        ],
        "mean recall (main edits)": [
            float(np.mean([recall[e][c] for e in main_edits])) for c in range(len(cands))
        ],
    }
    for label, values in rows.items():
        print(label.ljust(width) + "".join(f"{v:>20.3f}" for v in values))
    for label, index in (
        ("threshold", None),
        ("false: original pairs", 1),
        ("false: copy vs other", 2),
        ("closest unrelated", 3),
        ("unhashable originals", 4),
    ):
        if index is None:
            cells = [f"{c.threshold}/{c.bits}" for c in cands]
        else:
            cells = [str(s[index]) for s in summary]
        print(label.ljust(width) + "".join(f"{x:>20}" for x in cells))
    pairs = len(images) * (len(images) - 1) // 2
    print(
        f"({pairs} pairs of distinct originals; {len(main_edits) * len(images) * (len(images) - 1)}"
        " edited-copy/other-original pairs)"
    )

    print("\nknown facts of the CC0 set (distance; match at threshold?)")
    facts = [
        ("variant_chelsea.jpg", "chelsea.png", True),
        ("variant_coins.jpg", "coins.png", True),
        ("variant_horse.jpeg", "horse.png", True),
        ("variant_hubble_deep_field.png", "hubble_deep_field.jpg", False),
        ("horse.png", "eagle.png", False),
        ("variant_horse.jpeg", "eagle.png", False),
    ]
    print("pair".ljust(52) + "".join(f"{c.name:>20}" for c in cands))
    all_ok = True
    for first, second, same in facts:
        cells = []
        for cand in cands:
            a, b = cand.hashes(cc0[first]), cand.hashes(cc0[second])
            d = int(pair_distances([a], [b], cand.bits)[0, 0])
            ok = (d <= cand.threshold) == same
            all_ok &= ok or cand.name != "phash256.v1"
            cells.append(f"{d} {'ok' if ok else 'WRONG'}")
        label = f"{first} ~ {second} ({'same' if same else 'different'})"
        print(label.ljust(52) + "".join(f"{x:>20}" for x in cells))

    print("\ncandidates:")
    for cand in cands:
        print(f"  {cand.name}: {cand.note}")
    print(f"\nran in {time.perf_counter() - started:.0f} s")
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
