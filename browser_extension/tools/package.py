"""Builds the store packages: dist/wildflag-chrome.zip and dist/wildflag-firefox.zip.

`make extension` runs this. The unpacked folder already loads in both browsers; the zips
only drop what each store does not want (Chrome: `background.scripts` and the Gecko
settings; Firefox: `background.service_worker`) and leave out the tests and tools. When
WILDFLAG_API_URL is set it becomes the default backend in config.js and the only host
permission (instead of loopback). Stdlib only, and
reproducible: the same tree gives byte-identical zips.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import zipfile
from pathlib import Path

EXTENSION = Path(__file__).resolve().parent.parent
SKIP_DIRS = {"test", "tools"}
SKIP_NAMES = {"README.md", ".DS_Store"}
EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: reproducible zips


def files() -> list[Path]:
    out = []
    for path in sorted(EXTENSION.rglob("*")):
        relative = path.relative_to(EXTENSION)
        if path.is_dir() or relative.parts[0] in SKIP_DIRS or path.name in SKIP_NAMES:
            continue
        if "__pycache__" in relative.parts:
            continue
        out.append(path)
    return out


def origin_pattern(url: str) -> str:
    """http://host:port/path → http://host/* (match patterns cover every port)."""
    scheme, rest = url.split("://", 1)
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    if not host.startswith("["):
        host = host.split(":", 1)[0]
    return f"{scheme}://{host}/*"


def manifest_for(browser: str, backend_url: str | None) -> dict:
    manifest = json.loads((EXTENSION / "manifest.json").read_text("utf-8"))
    if backend_url:
        # A build for one backend holds a host permission for it alone, not for loopback.
        manifest["host_permissions"] = [origin_pattern(backend_url)]
    background = manifest["background"]
    if browser == "chrome":
        background.pop("scripts", None)
        manifest.pop("browser_specific_settings", None)
    else:
        background.pop("service_worker", None)
    return manifest


def config_with(backend_url: str | None) -> str:
    text = (EXTENSION / "config.js").read_text("utf-8")
    if backend_url:
        if not re.match(r"^https?://", backend_url):
            raise SystemExit(f"WILDFLAG_API_URL must be an http(s) address, not {backend_url!r}")
        text = re.sub(
            r'DEFAULT_BACKEND_URL = "[^"]*"',
            f"DEFAULT_BACKEND_URL = {json.dumps(backend_url.rstrip('/'))}",
            text,
        )
    return text


def build(browser: str, out: Path, backend_url: str | None) -> Path:
    target = out / f"wildflag-{browser}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files():
            name = path.relative_to(EXTENSION).as_posix()
            if name == "manifest.json":
                manifest = manifest_for(browser, backend_url)
                payload = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
            elif name == "config.js":
                payload = config_with(backend_url).encode("utf-8")
            else:
                payload = path.read_bytes()
            info = zipfile.ZipInfo(name, EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, payload)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("dist"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    backend_url = os.environ.get("WILDFLAG_API_URL") or None
    for browser in ("chrome", "firefox"):
        print(build(browser, args.out, backend_url))


if __name__ == "__main__":
    main()
