"""The shortcuts of `matching.fingerprints` equal the slow definitions they replace.

Hashes are stored: a shortcut that moved one bit would quietly split cases. Each test runs
the straightforward definition (the code the shortcut replaced) next to the shortcut.
"""

from __future__ import annotations

import hashlib
from typing import ClassVar

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageOps

from matching import fingerprints as fp
from matching.fingerprints import (
    BORDER_FRACTION,
    BORDER_TOLERANCE,
    DEFAULT_HASH_TYPE,
    HASH_TYPES,
    MIN_CONTENT_SIDE,
    Unhashable,
    canonical_grey,
)
from tests.matching.test_fingerprints import encode, photo


def uniform_by_median(lines: NDArray[np.uint8]) -> NDArray[np.bool_]:
    block = lines.astype(np.int16)
    median = np.median(block, axis=1, keepdims=True)
    return (np.abs(block - median) <= BORDER_TOLERANCE).mean(axis=1) >= BORDER_FRACTION


def border_count_by_median(lines: NDArray[np.uint8]) -> int:
    for row in range(lines.shape[0]):
        if not uniform_by_median(lines[row : row + 1])[0]:
            return row
    return lines.shape[0]


def trim_by_median(grey: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The border trimming loop as first written (np.median per line, no fast path)."""
    top, bottom, left, right = 0, grey.shape[0], 0, grey.shape[1]
    for _ in range(3):
        part = grey[top:bottom, left:right]
        cut_top = border_count_by_median(part)
        if cut_top >= part.shape[0]:
            raise Unhashable("image is uniform (flat or a plain gradient)")
        cut_bottom = border_count_by_median(part[::-1])
        top, bottom = top + cut_top, bottom - cut_bottom
        part = grey[top:bottom, left:right]
        cut_left = border_count_by_median(part.T)
        if cut_left >= part.shape[1]:
            raise Unhashable("image is uniform (flat or a plain gradient)")
        cut_right = border_count_by_median(part.T[::-1])
        left, right = left + cut_left, right - cut_right
        if not (cut_top or cut_bottom or cut_left or cut_right):
            break
    content = grey[top:bottom, left:right]
    if min(content.shape) < MIN_CONTENT_SIDE:
        raise Unhashable("too little content")
    return content


def lines_near_the_limits(rng: np.random.Generator, length: int) -> NDArray[np.uint8]:
    """Lines around every edge of the test: medians that are halves, outliers at ±4 and ±5
    levels, the share of outliers just below, at and above 2%."""
    lines = []
    for _ in range(400):
        level = int(rng.integers(0, 256))
        line = np.full(length, level, dtype=np.int16)
        outliers = int(rng.integers(0, max(2, length // 20)))
        where = rng.choice(length, size=outliers, replace=False)
        line[where] += rng.choice([-6, -5, -4, 4, 5, 6, 40], size=outliers)
        line[: int(rng.integers(0, length // 2))] += int(rng.integers(0, 2))  # half medians
        lines.append(np.clip(line, 0, 255))
    lines.append(rng.integers(0, 256, size=length))
    return np.array(lines, dtype=np.uint8)


@pytest.mark.parametrize("length", [16, 31, 50, 100, 192, 255, 256])
def test_uniform_lines_equal_the_median_definition(length: int) -> None:
    lines = lines_near_the_limits(np.random.default_rng(length), length)
    expected = uniform_by_median(lines)
    assert 0 < expected.sum() < len(lines)  # both outcomes are exercised
    assert np.array_equal(fp._uniform(lines), expected)


def bordered(rng: np.random.Generator) -> NDArray[np.uint8]:
    picture = np.asarray(photo(int(rng.integers(1000)), (200, 150)).convert("L")).copy()
    for _ in range(int(rng.integers(0, 4))):
        side, width = int(rng.integers(4)), int(rng.integers(1, 30))
        colour = int(rng.integers(0, 256))
        noise = rng.integers(-3, 4, size=picture.shape) * (rng.random() < 0.5)
        framed = np.clip(colour + noise, 0, 255).astype(np.uint8)
        if side == 0:
            picture[:width] = framed[:width]
        elif side == 1:
            picture[-width:] = framed[-width:]
        elif side == 2:
            picture[:, :width] = framed[:, :width]
        else:
            picture[:, -width:] = framed[:, -width:]
    return picture


def test_border_trimming_equals_the_loop_it_shortcuts() -> None:
    rng = np.random.default_rng(9)
    cases = [bordered(rng) for _ in range(120)]
    cases += [np.full((60, 80), 7, np.uint8), np.tile(np.arange(80, dtype=np.uint8), (60, 1))]
    cases += [np.asarray(photo(3, (300, 20)).convert("L")), np.asarray(photo(4, (15, 90)))[..., 0]]
    trimmed = 0
    for grey in cases:
        try:
            expected = trim_by_median(grey)
        except Unhashable:
            with pytest.raises(Unhashable):
                fp._trim_borders(grey)
            continue
        result = fp._trim_borders(grey)
        assert np.array_equal(result, expected)
        trimmed += result.shape != grey.shape
    assert 20 < trimmed < len(cases) - 20  # both the fast path and the loop ran


def test_threshold_medians_equal_np_median() -> None:
    rng = np.random.default_rng(2)
    blocks = rng.normal(0, 400, size=(15, 16, 16))
    blocks[3] = np.round(blocks[3] / 50) * 50  # ties around the median
    hashes, decisive = fp._threshold(blocks)
    flat = blocks.reshape(15, 256)
    medians = np.median(flat, axis=1, keepdims=True)
    bits = np.packbits(flat > medians, axis=1)
    assert hashes == [int.from_bytes(row.tobytes(), "big") for row in bits]
    margin = fp.DECISIVE_MARGIN * 2 * 16 * fp.HASH_INPUT_FACTOR
    assert np.array_equal(decisive, np.mean(np.abs(flat - medians) >= margin, axis=1))


@pytest.mark.parametrize(
    ("probe", "turn"),
    [
        (0, lambda a: a[:, ::-1]),  # mirror
        (1, lambda a: a[::-1]),  # flip
        (2, lambda a: a[::-1, ::-1]),  # rotate 180°
        (3, lambda a: a.T),  # transpose
        (4, lambda a: a[:, ::-1].T),
        (5, lambda a: a[::-1].T),
        (6, lambda a: a[::-1, ::-1].T),
    ],
)
def test_probe_coefficients_equal_those_of_the_turned_picture(probe: int, turn) -> None:  # type: ignore[no-untyped-def]
    """The sign trick (a mirror negates odd frequencies) is exact, not an approximation:
    the probe's coefficients are those of the actually mirrored or turned canonical picture,
    and so are its hash bits."""
    grey = canonical_grey(encode(photo(seed=13, size=(400, 300)), "JPEG", quality=85))
    whole = [("full", 0, grey.shape[0], 0, grey.shape[1])]
    block = fp._low_frequencies(grey, whole, 16)[0]
    turned = np.ascontiguousarray(turn(grey))
    expected = fp._low_frequencies(turned, [("full", 0, *turned.shape[:1], 0, turned.shape[1])], 16)
    derived = fp._dihedral(block)[probe]
    assert np.allclose(derived, expected[0], rtol=0, atol=1e-6 * np.abs(block).max())
    assert fp._threshold(derived[None])[0] == fp._threshold(expected)[0]


class RecordingArray(np.ndarray):
    """An array that notes the size (multiply-adds) of every matrix product it takes part in."""

    sizes: ClassVar[list[int]] = []

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):  # type: ignore[no-untyped-def]
        plain = [np.asarray(x) if isinstance(x, RecordingArray) else x for x in inputs]
        if ufunc is np.matmul:
            a, b = plain[:2]
            RecordingArray.sizes.append(a.shape[0] * a.shape[1] * b.shape[-1])
        return getattr(ufunc, method)(*plain, **kwargs)


def test_matrix_products_stay_on_one_blas_thread() -> None:
    """Every product stays below OpenBLAS's threading threshold (see _SINGLE_THREAD_PRODUCT):
    two BLAS threads made a fingerprint cost 10× more CPU on a loaded machine."""
    grey = canonical_grey(encode(photo(seed=17, size=(640, 480)), "JPEG", quality=85))
    regions = fp._regions(*grey.shape)
    RecordingArray.sizes.clear()
    blocks = fp._low_frequencies(grey.view(RecordingArray), regions, 16)
    assert RecordingArray.sizes and max(RecordingArray.sizes) <= fp._SINGLE_THREAD_PRODUCT
    assert max(RecordingArray.sizes) > fp._SINGLE_THREAD_PRODUCT // 2  # slices, not crumbs
    pixels = grey.astype(np.float64)
    for block, (_, top, bottom, left, right) in zip(blocks, regions, strict=True):
        vertical = fp._projection(bottom - top, 16) @ pixels[top:bottom, left:right]
        expected = vertical @ fp._projection(right - left, 16).T
        assert np.allclose(block, expected, rtol=1e-12, atol=1e-9)


def test_product_slices_equal_the_whole_product() -> None:
    rng = np.random.default_rng(4)
    for m, k, n in [(16, 192, 256), (256, 192, 16), (16, 4096, 17), (3, 5, 7), (16, 1, 20000)]:
        a, b = rng.normal(size=(m, k)), rng.normal(size=(k, n))
        assert np.allclose(fp._product(a, b), a @ b, rtol=1e-12, atol=1e-12)


def test_exif_orientation_is_read_before_deciding_to_skip_the_transpose() -> None:
    picture = photo(seed=6, size=(320, 240))
    plain = canonical_grey(encode(picture, "JPEG", quality=90))
    for orientation, undo in ((1, None), (3, Image.Transpose.ROTATE_180), (8, None)):
        exif = Image.Exif()
        exif[0x0112] = orientation
        stored = picture
        if orientation == 3:
            stored = picture.transpose(Image.Transpose.ROTATE_180)
        if orientation == 8:  # "rotate 90° counter-clockwise to display"
            stored = picture.transpose(Image.Transpose.ROTATE_270)
        grey = canonical_grey(encode(stored, "JPEG", quality=90, exif=exif))
        assert grey.shape == plain.shape, orientation
        assert np.abs(grey.astype(int) - plain).mean() < 3, (orientation, undo)


def test_grey_pictures_skip_the_conversion_and_hash_alike() -> None:
    picture = photo(seed=7, size=(320, 240))
    grey = picture.convert("L")
    assert np.array_equal(canonical_grey(encode(grey)), canonical_grey(encode(grey.convert("RGB"))))
    mirrored = DEFAULT_HASH_TYPE.compute(encode(ImageOps.mirror(grey)))
    original = DEFAULT_HASH_TYPE.compute(encode(grey))
    assert DEFAULT_HASH_TYPE.match(original, mirrored)[0]


def test_a_fixed_picture_keeps_its_stored_hashes() -> None:
    """Stored hashes stay valid only while the pipeline is bit-for-bit stable: this pins one
    picture's whole fingerprint (a PNG: no decoder version in the way), as computed before
    the speed-ups. If it moves on purpose, bump the hash type's version suffix."""
    for hash_type, pinned in PINNED.items():
        fingerprint = HASH_TYPES[hash_type].compute(encode(photo(seed=31, size=(640, 480))))
        serialised = fingerprint.to_bytes(HASH_TYPES[hash_type].bits)
        assert hashlib.sha256(serialised).hexdigest()[:32] == pinned, hash_type


PINNED = {
    "phash256.v1": "4494a94831690ac61e87882d14f1af96",
    "phash64.v1": "591e5212b65cc3337cf36b029f5655b3",
}
