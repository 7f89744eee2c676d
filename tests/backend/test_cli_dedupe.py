"""`wildflag dedupe DIR`: one JSON line {file, group} per image, as intake would group them."""

from __future__ import annotations

import json
import shutil

from PIL import ImageOps

from tests.conftest import shared_data
from tests.helpers import jpeg, photo, run_wildflag


def groups_of(directory, tmp_path):
    result = run_wildflag("dedupe", str(directory), data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    return {
        row["file"]: row["group"] for row in map(json.loads, result.stdout.splitlines())
    }, result


def test_dedupe_groups_edited_copies_and_keeps_others_apart(tmp_path):
    folder = tmp_path / "images"
    (folder / "nested").mkdir(parents=True)
    first, second = photo(10), photo(11)
    (folder / "a.jpg").write_bytes(jpeg(first))
    (folder / "nested" / "a-mirror.jpg").write_bytes(jpeg(ImageOps.mirror(first), 40))
    (folder / "b.jpg").write_bytes(jpeg(second))
    (folder / "notes.txt").write_text("not a picture")
    groups, result = groups_of(folder, tmp_path)
    assert set(groups) == {"a.jpg", "b.jpg", "nested/a-mirror.jpg"}
    assert groups["a.jpg"] == groups["nested/a-mirror.jpg"] == 0
    assert groups["b.jpg"] == 1
    assert "notes.txt" in result.stderr


def test_dedupe_on_the_reference_images(tmp_path):
    source = shared_data("images", "cc0")
    folder = tmp_path / "cc0"
    shutil.copytree(source, folder)
    groups, _ = groups_of(folder, tmp_path)
    assert len(groups) == 17
    for name in ("chelsea", "coins", "horse"):
        variant = next(f for f in groups if f.startswith(f"variant_{name}"))
        assert groups[variant] == groups[f"{name}.png"]
    assert groups["variant_hubble_deep_field.png"] != groups["hubble_deep_field.jpg"]
    assert groups["horse.png"] != groups["eagle.png"]
    assert len(set(groups.values())) == 14
