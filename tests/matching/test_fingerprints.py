"""Image fingerprints: every hash type passes the same contract; the CC0 facts hold."""

from __future__ import annotations

import io
from typing import ClassVar

import numpy as np
import pytest
from PIL import Image, ImageOps

from matching.fingerprints import (
    DEFAULT_HASH_TYPE,
    HASH_TYPES,
    MIN_SIDE,
    Fingerprint,
    HashType,
    PHash64,
    PHash256,
    Unhashable,
    canonical_grey,
    get_hash_type,
    register,
)
from tests.conftest import shared_data


def encode(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def photo(seed: int = 5, size: tuple[int, int] = (480, 360)) -> Image.Image:
    """A photo-like RGB picture (smooth light, shapes, noise) from a seed."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, size=(9, 12, 3), dtype=np.uint8), "RGB")
    base = np.asarray(coarse.resize(size, Image.Resampling.BICUBIC), dtype=np.float64)
    noisy = base + rng.normal(0, 4, size=base.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")


class HashTypeContract:
    """What every hash type must do; subclass with `hash_type = ...` to get these tests."""

    hash_type: ClassVar[HashType]

    def test_registered_under_its_unique_name(self) -> None:
        assert get_hash_type(self.hash_type.name) is HASH_TYPES[self.hash_type.name]
        assert type(HASH_TYPES[self.hash_type.name]) is type(self.hash_type)
        with pytest.raises(AssertionError, match="registered twice"):
            register(type(self.hash_type)())

    def test_threshold_is_within_the_hash(self) -> None:
        assert 0 < self.hash_type.threshold < self.hash_type.bits // 2

    def test_deterministic(self) -> None:
        data = encode(photo(), "JPEG", quality=85)
        first = self.hash_type.compute(data)
        second = type(self.hash_type)().compute(data)
        assert first == second
        assert first.hash_type == self.hash_type.name

    def test_hashes_fit_the_declared_size(self) -> None:
        fingerprint = self.hash_type.compute(encode(photo()))
        assert fingerprint.stored and fingerprint.primary == fingerprint.stored[0]
        assert all(0 <= value < 2**self.hash_type.bits for value in fingerprint.query_hashes)
        assert len(fingerprint.names) == len(fingerprint.query_hashes)

    def test_examples(self) -> None:
        examples = self.hash_type.examples()
        assert any(e.same for e in examples) and any(not e.same for e in examples)
        for example in examples:
            first = self.hash_type.compute(example.first)
            second = self.hash_type.compute(example.second)
            matched, distance = self.hash_type.match(first, second)
            assert matched is example.same, (example.name, distance)
            assert self.hash_type.match(second, first) == (matched, distance)

    def test_distance_is_hamming(self) -> None:
        assert self.hash_type.distance(0b1011, 0b0001) == 2
        assert self.hash_type.distance(2**self.hash_type.bits - 1, 0) == self.hash_type.bits

    @pytest.mark.parametrize("size", [(1, 1), (16, 16), (MIN_SIDE - 1, 400), (400, MIN_SIDE - 1)])
    def test_tiny_images_are_unhashable(self, size: tuple[int, int]) -> None:
        with pytest.raises(Unhashable, match="too small"):
            self.hash_type.compute(encode(photo(size=size)))

    @pytest.mark.parametrize("colour", [0, 128, 255])
    @pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
    def test_uniform_images_are_unhashable(self, colour: int, fmt: str) -> None:
        with pytest.raises(Unhashable, match="uniform"):
            self.hash_type.compute(encode(Image.new("RGB", (300, 200), (colour,) * 3), fmt))

    def test_near_uniform_images_are_unhashable(self) -> None:
        rng = np.random.default_rng(3)
        faint = 200 + rng.integers(-1, 2, size=(300, 400))  # ±1 grey level of noise
        with pytest.raises(Unhashable, match="uniform"):
            self.hash_type.compute(encode(Image.fromarray(faint.astype(np.uint8))))
        ramp = np.tile(np.linspace(0, 255, 400), (300, 1))  # a clean gradient says nothing
        with pytest.raises(Unhashable, match="uniform"):
            self.hash_type.compute(encode(Image.fromarray(ramp.astype(np.uint8))))

    def test_two_blank_pictures_never_match(self) -> None:
        for data in (encode(Image.new("L", (640, 480), 255)), b"", b"not an image at all"):
            with pytest.raises(Unhashable):
                self.hash_type.compute(data)

    @pytest.mark.parametrize(
        "edit",
        [
            pytest.param(ImageOps.mirror, id="mirror"),
            pytest.param(
                lambda im: im.crop((0, 0, int(im.width * 0.9), im.height)), id="cut-right"
            ),
            pytest.param(
                lambda im: im.crop((int(im.width * 0.1), 0, im.width, im.height)), id="cut-left"
            ),
            pytest.param(
                lambda im: im.crop((0, int(im.height * 0.1), im.width, im.height)), id="cut-top"
            ),
            pytest.param(
                lambda im: im.crop((0, 0, im.width, int(im.height * 0.9))), id="cut-bottom"
            ),
            pytest.param(lambda im: ImageOps.expand(im, 40, "black"), id="border"),
            pytest.param(lambda im: im.transpose(Image.Transpose.ROTATE_180), id="rotate-180"),
        ],
    )
    def test_edited_copies_match_in_either_order(self, edit) -> None:  # type: ignore[no-untyped-def]
        original = photo(seed=11, size=(640, 480))
        a = self.hash_type.compute(encode(original))
        b = self.hash_type.compute(encode(edit(original), "JPEG", quality=80))
        assert self.hash_type.match(a, b)[0]
        assert self.hash_type.match(b, a)[0]

    def test_size_independent(self) -> None:
        """A 1600×1200 and an 800×600 JPEG of one picture (different draft scales) agree."""
        picture = photo(seed=21, size=(400, 300))
        big = picture.resize((1600, 1200), Image.Resampling.LANCZOS)
        small = picture.resize((800, 600), Image.Resampling.LANCZOS)
        a = self.hash_type.compute(encode(big, "JPEG", quality=85))
        b = self.hash_type.compute(encode(small, "JPEG", quality=85))
        assert self.hash_type.distance(a.primary, b.primary) <= self.hash_type.threshold // 3

    def test_serialises(self) -> None:
        fingerprint = self.hash_type.compute(encode(photo()))
        data = fingerprint.to_bytes(self.hash_type.bits)
        restored = Fingerprint.from_bytes(self.hash_type.name, self.hash_type.bits, data)
        assert restored.stored == fingerprint.stored
        assert restored.probes == fingerprint.probes
        with pytest.raises(ValueError):
            Fingerprint.from_bytes(self.hash_type.name, self.hash_type.bits, data[:-1])


class TestPHash256(HashTypeContract):
    hash_type = PHash256()


class TestPHash64(HashTypeContract):
    hash_type = PHash64()


def test_default_is_the_256_bit_phash() -> None:
    assert DEFAULT_HASH_TYPE.name == "phash256.v1"
    assert DEFAULT_HASH_TYPE.bits == 256


# --- the pipeline -------------------------------------------------------------------------------


def test_alpha_is_flattened_on_white_and_modes_agree() -> None:
    picture = photo(size=(320, 240))
    rgba = picture.convert("RGBA")
    rgba.putalpha(255)
    transparent_frame = ImageOps.expand(rgba, 20, (0, 0, 0, 0))  # transparent = white
    white_frame = ImageOps.expand(picture, 20, "white")
    reference = DEFAULT_HASH_TYPE.compute(encode(white_frame))
    for data in (
        encode(transparent_frame),
        encode(picture.convert("L")),
        encode(picture.convert("P")),
        encode(picture, "JPEG", quality=95),
    ):
        assert DEFAULT_HASH_TYPE.match(reference, DEFAULT_HASH_TYPE.compute(data))[0]


def test_exif_orientation_is_applied() -> None:
    picture = photo(size=(400, 300))
    upright = DEFAULT_HASH_TYPE.compute(encode(picture, "JPEG", quality=90))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": stored turned the other way
    stored = picture.transpose(Image.Transpose.ROTATE_90)
    tagged = DEFAULT_HASH_TYPE.compute(encode(stored, "JPEG", quality=90, exif=exif))
    assert DEFAULT_HASH_TYPE.distance(upright.primary, tagged.primary) <= 8


def test_uniform_borders_are_trimmed() -> None:
    picture = photo(size=(300, 200))
    plain = canonical_grey(encode(picture))
    letterboxed = Image.new("RGB", (300, 320), (12, 12, 12))
    letterboxed.paste(picture, (0, 60))
    framed = canonical_grey(encode(ImageOps.expand(letterboxed, 15, "white"), "JPEG", quality=60))
    # The working scale follows the file's size, so compare shapes: the 3:2 picture comes back.
    assert plain.shape[1] / plain.shape[0] == pytest.approx(1.5, abs=0.02)
    assert framed.shape[1] / framed.shape[0] == pytest.approx(1.5, abs=0.04)
    assert (
        DEFAULT_HASH_TYPE.distance(
            DEFAULT_HASH_TYPE.compute(encode(picture)).primary,
            DEFAULT_HASH_TYPE.compute(encode(ImageOps.expand(letterboxed, 15, "white"))).primary,
        )
        <= DEFAULT_HASH_TYPE.threshold
    )


def test_probes_are_the_dihedral_images() -> None:
    """Each probe is the hash the rotated or mirrored picture would get as its primary."""
    picture = photo(seed=8, size=(360, 360))
    fingerprint = DEFAULT_HASH_TYPE.compute(encode(picture))
    names = list(fingerprint.names)
    transposes = {
        "mirror": Image.Transpose.FLIP_LEFT_RIGHT,
        "flip": Image.Transpose.FLIP_TOP_BOTTOM,
        "rotate180": Image.Transpose.ROTATE_180,
        "transpose": Image.Transpose.TRANSPOSE,
        "rotate90": Image.Transpose.ROTATE_90,
        "rotate270": Image.Transpose.ROTATE_270,
        "transverse": Image.Transpose.TRANSVERSE,
    }
    for name, transpose in transposes.items():
        turned = DEFAULT_HASH_TYPE.compute(encode(picture.transpose(transpose)))
        probe = fingerprint.query_hashes[names.index(name)]
        assert DEFAULT_HASH_TYPE.distance(probe, turned.primary) <= 12, name


def test_primary_is_imagehash_phash_of_the_canonical_rendering() -> None:
    imagehash = pytest.importorskip("imagehash")
    for seed in range(4):
        data = encode(photo(seed=seed))
        grey = canonical_grey(data)
        reference = int(str(imagehash.phash(Image.fromarray(grey), hash_size=16)), 16)
        assert DEFAULT_HASH_TYPE.distance(DEFAULT_HASH_TYPE.compute(data).primary, reference) <= 4


# --- the CC0 reference pictures -------------------------------------------------------------------

POSITIVE = [
    ("variant_chelsea.jpg", "chelsea.png"),
    ("variant_coins.jpg", "coins.png"),
    ("variant_horse.jpeg", "horse.png"),
]
NEGATIVE = [
    ("variant_hubble_deep_field.png", "hubble_deep_field.jpg"),
    ("horse.png", "eagle.png"),
    ("variant_horse.jpeg", "eagle.png"),
]


@pytest.mark.parametrize("hash_type", list(HASH_TYPES.values()), ids=list(HASH_TYPES))
@pytest.mark.parametrize(("first", "second"), POSITIVE + NEGATIVE)
def test_threshold_separates_the_cc0_pairs(hash_type: HashType, first: str, second: str) -> None:
    a = hash_type.compute(shared_data("images", "cc0", first).read_bytes())
    b = hash_type.compute(shared_data("images", "cc0", second).read_bytes())
    assert hash_type.match(a, b)[0] is ((first, second) in POSITIVE)


def test_no_two_cc0_originals_match() -> None:
    folder = shared_data("images", "cc0")
    prints = {
        path.name: DEFAULT_HASH_TYPE.compute(path.read_bytes())
        for path in sorted(folder.iterdir())
        if not path.name.startswith("variant_")
    }
    names = list(prints)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            matched, distance = DEFAULT_HASH_TYPE.match(prints[a], prints[b])
            assert not matched, (a, b, distance)


def test_cc0_mirror_crop_and_resize_match() -> None:
    original = Image.open(shared_data("images", "cc0", "chelsea.png")).convert("RGB")
    reference = DEFAULT_HASH_TYPE.compute(encode(original))
    w, h = original.size
    for edited in (
        ImageOps.mirror(original),
        original.crop((int(w * 0.1), 0, w, h)),
        original.crop((0, 0, w, int(h * 0.9))),
        original.resize((w * 3, h * 3), Image.Resampling.LANCZOS),
    ):
        copy = DEFAULT_HASH_TYPE.compute(encode(edited, "JPEG", quality=70))
        assert DEFAULT_HASH_TYPE.match(reference, copy)[0]
