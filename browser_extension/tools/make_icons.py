"""Draws the extension's toolbar icons (a white flag on a green tile) at 16, 32, 48, 128 px.

Run from the repository root: `.venv/bin/python browser_extension/tools/make_icons.py`.
The PNGs are committed, so loading the extension needs no build step.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ICONS = Path(__file__).resolve().parent.parent / "icons"
GREEN = (46, 107, 58, 255)
LEAF = (168, 201, 92, 255)
WHITE = (255, 255, 255, 255)
SIZES = (16, 32, 48, 128)
SCALE = 8  # draw large, then downsample: smooth edges at every size


def draw(size: int) -> Image.Image:
    big = size * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 5, fill=GREEN)
    unit = big / 16
    # The pole, then a flag with a notched (swallow-tail) fly end, and a leaf on the flag.
    pen.rectangle((4 * unit, 2.5 * unit, 5.2 * unit, 13.5 * unit), fill=WHITE)
    pen.polygon(
        [
            (5.2 * unit, 3 * unit),
            (13 * unit, 3 * unit),
            (10.8 * unit, 5.75 * unit),
            (13 * unit, 8.5 * unit),
            (5.2 * unit, 8.5 * unit),
        ],
        fill=WHITE,
    )
    pen.ellipse((6.4 * unit, 4.3 * unit, 9.6 * unit, 7.2 * unit), fill=LEAF)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    ICONS.mkdir(exist_ok=True)
    for size in SIZES:
        draw(size).save(ICONS / f"icon{size}.png", optimize=True)


if __name__ == "__main__":
    main()
