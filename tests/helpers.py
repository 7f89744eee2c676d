"""Helpers for tests: the installed `wildflag` command as a user runs it, test images."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

WILDFLAG = str(Path(sys.executable).with_name("wildflag"))

#: A report of an elephant ivory carving sold from London: Appendix I, routed to GB.
IVORY: dict[str, str] = {
    "url": "https://www.ebay.co.uk/itm/Carved-tusk/284512345678",
    "title": "Antique carved elephant ivory tusk",
    "text": "Genuine elephant ivory, 1.2 kg. Collection in London.",
    "seller_location": "London, United Kingdom",
}


def wildflag_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WILDFLAG_")}
    env["WILDFLAG_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def run_wildflag(
    *args: str, data_dir: Path, stdin: str = "", **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WILDFLAG, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=wildflag_env(data_dir, **extra),
        timeout=120,
        check=False,
    )


def image_bytes(
    fmt: str = "JPEG", size: tuple[int, int] = (64, 48), color: str = "olive", exif: Any = None
) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, color)
    params: dict[str, Any] = {}
    if exif is not None:
        params["exif"] = exif
    image.save(out, format=fmt, **params)
    return out.getvalue()


def photo(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A picture with enough structure to fingerprint: a gradient and random shapes."""
    rng = random.Random(seed)
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(25):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        w, h = rng.randrange(20, 200), rng.randrange(20, 200)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x, y, x + w, y + h), fill=colour)
        else:
            draw.rectangle((x, y, x + w, y + h), fill=colour)
    return image


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


DATA = Path(__file__).resolve().parent / "data"


def listing_texts() -> list[str]:
    """Every listing text of the evaluation sets (title and text, one line each) and the
    plain listings: what the matchers' shortcuts are compared with the long way on."""
    texts: list[str] = []
    for name in ("species_eval.jsonl", "jurisdiction_eval.jsonl"):
        for row in read_jsonl(DATA / name):
            texts.append("\n".join(p for p in (row.get("title"), row.get("text")) if p))
    texts += (DATA / "non_wildlife_listings.txt").read_text("utf-8").splitlines()
    return texts


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """A labelled JSON Lines file, strictly: no blank lines, one object per line."""
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        assert line.strip(), f"line {number}: blank line"
        item = json.loads(line)
        assert isinstance(item, dict), f"line {number}: not a JSON object"
        items.append(item)
    return items
