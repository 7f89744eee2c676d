"""The extension as shipped, without a browser: locales, manifest, pages, the JS unit tests."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parents[2] / "browser_extension"
LOCALES = ("en", "fr", "es")


def messages(lang: str) -> dict:
    return json.loads((EXTENSION / "_locales" / lang / "messages.json").read_text("utf-8"))


def test_locales_have_the_same_keys_and_placeholders() -> None:
    english = messages("en")
    for lang in LOCALES[1:]:
        other = messages(lang)
        assert set(other) == set(english), lang
        for key, entry in english.items():
            assert other[key]["message"].strip(), f"{lang}.{key} is empty"
            assert other[key].get("placeholders") == entry.get("placeholders"), f"{lang}.{key}"
            names = set(re.findall(r"\$(\w+)\$", entry["message"]))
            assert set(re.findall(r"\$(\w+)\$", other[key]["message"])) == names, f"{lang}.{key}"


def used_keys() -> set[str]:
    """Every message key the HTML, the scripts and the manifest refer to."""
    keys: set[str] = set()
    for path in EXTENSION.rglob("*"):
        if path.suffix not in {".html", ".js", ".json"} or "_locales" in path.parts:
            continue
        text = path.read_text("utf-8")
        keys |= set(re.findall(r'data-i18n(?:-placeholder|-title)?="(\w+)"', text))
        keys |= set(re.findall(r'\bt\("(\w+)"', text))
        keys |= set(re.findall(r"__MSG_(\w+)__", text))
    return keys


def test_every_string_used_is_translated() -> None:
    missing = used_keys() - set(messages("en"))
    assert not missing
    # priority_* and status_* keys are built from the backend's values.
    built = {"priority_critical", "priority_high", "priority_normal", "priority_review"}
    assert built | {"status_received", "status_routed"} <= set(messages("en"))


def test_manifest_permissions_are_minimal() -> None:
    manifest = json.loads((EXTENSION / "manifest.json").read_text("utf-8"))
    assert manifest["manifest_version"] == 3
    assert sorted(manifest["permissions"]) == sorted(
        ["activeTab", "contextMenus", "storage", "scripting", "alarms"]
    )
    assert manifest["host_permissions"] == ["http://127.0.0.1/*", "http://localhost/*"]
    assert "content_scripts" not in manifest  # injected on demand only
    background = manifest["background"]
    assert background["service_worker"] == "background.js"
    assert background["scripts"] == ["background.js"]  # Firefox
    assert manifest["browser_specific_settings"]["gecko"]["id"]
    for size in ("16", "32", "48", "128"):
        assert (EXTENSION / manifest["icons"][size]).is_file()


class _InlineScripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and "src" not in names:
            self.problems.append("inline <script>")
        self.problems += [f"{tag}[{name}]" for name in names if name.startswith("on")]
        for name in ("src", "href"):
            if (names.get(name) or "").startswith(("http:", "https:", "//")):
                self.problems.append(f"remote {tag}[{name}]")


@pytest.mark.parametrize("page", ["popup.html", "options.html"])
def test_pages_are_csp_safe(page: str) -> None:
    parser = _InlineScripts()
    parser.feed((EXTENSION / page).read_text("utf-8"))
    assert parser.problems == []


def test_extraction_unit_tests_pass_under_node() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not found: the extension's JS unit tests need Node's test runner")
    result = subprocess.run(
        [node, "--test", str(EXTENSION / "test")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_web_ext_lint_passes_on_the_firefox_package(tmp_path: Path) -> None:
    """Mozilla's own linter on the zip `make extension` builds for Firefox: no errors, no
    warnings. `.ci/run` installs web-ext and names it in WILDFLAG_WEB_EXT."""
    web_ext = os.environ.get("WILDFLAG_WEB_EXT") or shutil.which("web-ext")
    if not web_ext:
        message = "web-ext not found (npm install web-ext; WILDFLAG_WEB_EXT names its binary)"
        if os.environ.get("CI"):
            pytest.fail(message + " and CI is set")
        pytest.skip(message)
    subprocess.run(
        [sys.executable, str(EXTENSION / "tools" / "package.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        [web_ext, "lint", "--source-dir", str(tmp_path / "wildflag-firefox.zip"), "--output=json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["errors"] == [] and report["warnings"] == [], report["summary"]
