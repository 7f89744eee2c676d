"""Evidence files: checked, cleaned of EXIF/GPS, and stored content-addressed by SHA-256.

A reporter's photo can carry where they stood when they took it; the copy wildflag keeps
and serves is re-encoded from pixels alone (orientation applied, metadata dropped), while
the digest of the bytes as received is kept as proof of what arrived. Decoding is CPU
work: callers run `prepare_*` in an executor, never on the event loop.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from PIL import Image, ImageOps, UnidentifiedImageError

#: What a listing photo or screenshot may be. Others (SVG, TIFF, PSD…) are refused:
#: they are rare on marketplaces and large attack surfaces.
IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}

SNAPSHOT_TYPES = {"text/html", "multipart/related", "application/x-mimearchive"}


class EvidenceError(ValueError):
    """A file that cannot be kept as evidence; `status` is the HTTP status to answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class PreparedFile:
    """A file ready to store: the cleaned bytes and what we know about them."""

    kind: str  # image | screenshot | snapshot
    data: bytes
    sha256: str
    original_sha256: str
    media_type: str
    filename: str
    width: int | None = None
    height: int | None = None

    @property
    def size(self) -> int:
        return len(self.data)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def safe_filename(name: str | None) -> str:
    """The base name of a client-supplied filename, with anything odd replaced.

    Only ever kept as a label: stored files are named by their digest, never by this.
    """
    base = re.split(r"[\\/]", unquote(name or ""))[-1]
    cleaned = re.sub(r"[^\w.\- ]", "_", base).strip(" .")
    return cleaned[:255]


def is_image(data: bytes) -> bool:
    """Whether Pillow recognises `data` as an image (reads the header only)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)):
                return True
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError):
        return False


def prepare_image(data: bytes, filename: str | None, *, kind: str, max_pixels: int) -> PreparedFile:
    """Check an image and re-encode it without metadata. Raises `EvidenceError`."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it; refuse both the same way.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        with image:
            if image.format not in IMAGE_FORMATS:
                raise EvidenceError(
                    415, "unsupported_image", f"{image.format} images are not accepted"
                )
            width, height = image.size
            if width * height > max_pixels:
                raise EvidenceError(
                    413,
                    "image_too_large",
                    f"image is {width}x{height} pixels; the limit is {max_pixels} pixels",
                )
            fmt = image.format
            image.seek(0)  # animated images: the first frame is what is kept
            image.load()
            cleaned = ImageOps.exif_transpose(image)
            out = io.BytesIO()
            _save_clean(cleaned, fmt, out)
    except EvidenceError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise EvidenceError(413, "image_too_large", str(exc)) from None
    except UnidentifiedImageError as exc:
        raise EvidenceError(415, "not_an_image", f"not a readable image: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise EvidenceError(422, "corrupt_image", f"image is truncated or corrupt: {exc}") from None
    clean = out.getvalue()
    return PreparedFile(
        kind=kind,
        data=clean,
        sha256=sha256_hex(clean),
        original_sha256=sha256_hex(data),
        media_type=IMAGE_FORMATS[fmt],
        filename=safe_filename(filename),
        width=cleaned.width,
        height=cleaned.height,
    )


def _save_clean(image: Image.Image, fmt: str, out: io.BytesIO) -> None:
    """Save pixels (and the colour profile) only: no EXIF, XMP, text chunks or comments."""
    params: dict[str, object] = {}
    icc = image.info.get("icc_profile")
    if icc:
        params["icc_profile"] = icc
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        params.update(quality=95, optimize=True)
    elif fmt == "WEBP":
        params.update(quality=95)
    elif fmt == "GIF" and image.mode not in ("P", "L"):
        image = image.convert("P")
    image.save(out, format=fmt, **params)


def prepare_snapshot(data: bytes, filename: str | None, content_type: str | None) -> PreparedFile:
    """A saved page (HTML or MHTML), kept byte for byte. Raises `EvidenceError`."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    head = data[:2048].lstrip().lower()
    looks_html = head.startswith((b"<!doctype html", b"<html")) or b"<html" in head
    looks_mhtml = b"mime-version:" in head and b"multipart/related" in head
    if looks_mhtml:
        media_type = "multipart/related"
    elif looks_html:
        media_type = "text/html"
    if media_type not in SNAPSHOT_TYPES or not (looks_html or looks_mhtml):
        raise EvidenceError(415, "unsupported_snapshot", "a page snapshot must be HTML or MHTML")
    digest = sha256_hex(data)
    return PreparedFile(
        kind="snapshot",
        data=data,
        sha256=digest,
        original_sha256=digest,
        media_type=media_type,
        filename=safe_filename(filename),
    )


class EvidenceStore:
    """Files under `root`, named by the SHA-256 of their content (`ab/cd/abcd…`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes, sha256: str) -> bool:
        """Store `data` atomically; True if the file is new (the caller may remove it)."""
        target = self.path(sha256)
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return True

    def remove(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()
