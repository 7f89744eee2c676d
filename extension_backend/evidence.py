"""Evidence files: checked, cleaned of EXIF/GPS, and stored content-addressed by SHA-256.

A reporter's photo can carry where they stood when they took it; the copy wildflag keeps
and serves is re-encoded from pixels alone (orientation applied, metadata dropped), while
the digest of the bytes as received is kept as proof of what arrived. Decoding is CPU
work: callers run `prepare_*` in an executor, never on the event loop.
"""

from __future__ import annotations

import errno
import hashlib
import io
import logging
import os
import re
import struct
import tempfile
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

#: What a listing photo or screenshot may be, by Pillow's format name, and the media type
#: its cleaned copy is served as. Others (SVG, TIFF, PSD, BMP…) are refused: they are rare
#: on marketplaces and large attack surfaces.
IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
#: Formats decoded and the format their cleaned copy is saved in. MPO is Pillow's name for a
#: JPEG carrying extra pictures (stereo cameras, phones adding a depth map): its first
#: picture is kept as a plain JPEG. APNG is PNG to Pillow.
DECODERS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "GIF": "GIF"}
#: The one `info` key that is part of the picture rather than metadata about it.
KEPT_INFO = ("transparency",)
#: An ICC profile's colour space (bytes 16-20 of its header) per image mode it can describe.
ICC_SPACES = {b"RGB ": ("RGB", "RGBA", "P"), b"GRAY": ("L", "LA", "1")}
#: Longest filename kept as a label (the `Evidence.filename` column).
MAX_FILENAME = 255

SNAPSHOT_TYPES = {"text/html", "multipart/related", "application/x-mimearchive"}

log = logging.getLogger(__name__)


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

    Only ever kept as a label: stored files are named by their digest, never by this. The
    directory part goes (`../../etc/passwd.jpg` is `passwd.jpg`); control and format
    characters (NUL, the right-to-left override that makes `gpj.exe` read as `exe.jpg`)
    and anything but letters, digits, `.`, `-`, `_` and spaces become `_`; a name too long
    for the column keeps its extension.
    """
    base = re.split(r"[\\/]", unquote(name or ""))[-1]
    cleaned = re.sub(r"[^\w.\- ]", "_", unicodedata.normalize("NFC", base)).strip(" .")
    if len(cleaned) <= MAX_FILENAME:
        return cleaned
    stem, dot, ext = cleaned.rpartition(".")
    if dot and 0 < len(ext) <= 16:
        return f"{stem[: MAX_FILENAME - len(ext) - 1]}.{ext}"
    return cleaned[:MAX_FILENAME]


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
    """Check an image and re-encode it from its pixels alone. Raises `EvidenceError`.

    What is stored and served is never the bytes received: a polyglot (a JPEG with a ZIP
    or a page appended, HTML in a comment) loses everything that is not the picture.
    An animation keeps its first frame only: evidence is a still, and a frame count is
    one more way to make decoding expensive. CMYK and 16-bit images become plain 8-bit
    RGB or greyscale, which every browser and mail client shows the same way.
    """
    image = _open_header(data, max_pixels)
    fmt = DECODERS[image.format or ""]
    try:
        with image:
            image.seek(0)
            image.load()
            _check_pixels(image.size, max_pixels)
            clean = _plain(ImageOps.exif_transpose(image))
            out = io.BytesIO()
            _save_clean(clean, fmt, out)
    except EvidenceError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(None, max_pixels) from None
    except Exception as exc:
        # Whatever a decoder trips over in hostile bytes (OSError for truncation,
        # SyntaxError, struct.error, IndexError…) is the file's fault, not a server error.
        log.info("refused a corrupt %s image: %s: %s", fmt, type(exc).__name__, exc)
        raise EvidenceError(
            422, "corrupt_image", f"the {fmt} image is truncated or corrupt"
        ) from None
    cleaned = out.getvalue()
    return PreparedFile(
        kind=kind,
        data=cleaned,
        sha256=sha256_hex(cleaned),
        original_sha256=sha256_hex(data),
        media_type=IMAGE_FORMATS[fmt],
        filename=safe_filename(filename),
        width=clean.width,
        height=clean.height,
    )


def _too_large(size: tuple[int, int] | None, limit: int) -> EvidenceError:
    shown = f"{size[0]}x{size[1]} pixels" if size else "more pixels than allowed"
    return EvidenceError(
        413,
        "image_too_large",
        f"image is {shown}; the limit is max_image_pixels = {limit} (width x height)",
    )


def _check_pixels(size: tuple[int, int], limit: int) -> None:
    if size[0] * size[1] > limit:
        raise _too_large(size, limit)


def _accepts(fmt: str, prefix: bytes) -> bool:
    opener = Image.OPEN.get(fmt)
    if opener is None:
        return False
    accept = opener[1]
    # No accept function means "try to parse it" (IM, SPIDER…): never a recognition. An
    # accept function answers a string for "this format, but one Pillow cannot read".
    if accept is None:
        return False
    try:
        return accept(prefix) is True
    except (SyntaxError, IndexError, TypeError, struct.error):
        return False  # a prefix too short for it (what `Image.open` also swallows)


def _open_header(data: bytes, limit: int) -> Image.Image:
    """The image with only its header read, held to `max_image_pixels` before Pillow's limit.

    `Image.open` runs Pillow's own decompression-bomb check against its process-wide
    `MAX_IMAGE_PIXELS`: a warning between that and twice it, an error above. Turning the
    warning into an error takes a process-wide warnings filter (not thread-safe, and we
    decode in an executor), and neither names our setting. So the accepted formats' own
    openers (Pillow's registry, `Image.OPEN`) read the header here, and the size it
    declares is checked before a single pixel is decoded.
    """
    Image.init()
    prefix = data[:16]
    fmt = next((f for f in DECODERS if _accepts(f, prefix)), None)
    if fmt is None:
        other = next((f for f in Image.ID if f not in DECODERS and _accepts(f, prefix)), None)
        if other is not None:
            raise EvidenceError(415, "unsupported_image", f"{other} images are not accepted")
        raise EvidenceError(
            415, "not_an_image", "not a readable image: send JPEG, PNG, WebP or GIF"
        )
    try:
        image = Image.OPEN[fmt][0](io.BytesIO(data), "")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # A GIF frame reaching past its declared screen grows the image while opening.
        raise _too_large(None, limit) from None
    except Exception as exc:
        log.info("refused an unreadable %s header: %s: %s", fmt, type(exc).__name__, exc)
        name = DECODERS[fmt]
        raise EvidenceError(
            422, "corrupt_image", f"the {name} image is truncated or corrupt"
        ) from None
    if image.format not in DECODERS:  # pragma: no cover - a factory answering another format
        image.close()
        raise EvidenceError(415, "unsupported_image", f"{image.format} images are not accepted")
    try:
        _check_pixels(image.size, limit)
    except EvidenceError:
        image.close()
        raise
    return image


def _plain(image: Image.Image) -> Image.Image:
    """The picture as 8-bit pixels with no metadata: only transparency is kept from `info`.

    Pillow writes some `info` back when saving (a JPEG comment, a GIF comment), so it is
    emptied; the ICC profile is kept when it describes the pixels as they end up.
    """
    icc = image.info.get("icc_profile")
    if image.mode == "CMYK":
        image = _cmyk_to_rgb(image, icc)
    elif image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        # 16-bit greyscale PNG: scale to 8 bits (a plain convert would clip it to white).
        image = image.convert("I").point(lambda v: v / 257 + 0.5).convert("L")
    elif image.mode not in ("1", "L", "LA", "P", "PA", "RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    kept = {k: image.info[k] for k in KEPT_INFO if k in image.info}
    if icc and image.mode in ICC_SPACES.get(bytes(icc[16:20]), ()):
        kept["icc_profile"] = icc
    image.info = kept  # `image` is a copy: exif_transpose and convert both make one
    return image


def _cmyk_to_rgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """CMYK as sRGB: through its ICC profile when it has a usable one."""
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            target = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(image, source, target, outputMode="RGB")
            if converted is not None:
                converted.info = {}
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: the plain conversion below is still a fair picture
    return image.convert("RGB")


def _save_clean(image: Image.Image, fmt: str, out: io.BytesIO) -> None:
    """Save pixels (and the colour profile) only: no EXIF, XMP, text chunks or comments."""
    params: dict[str, object] = {}
    icc = image.info.get("icc_profile")
    if icc:
        params["icc_profile"] = icc
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
            image.info = {}
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


def _raise_if_full(exc: OSError) -> None:
    """Raise a full disk or quota as `EvidenceError` 507 (the reporter may try again
    later); any other I/O failure is left to the caller (a fault of the server, a 500)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        log.error("evidence store is out of space: %s", exc)
        raise EvidenceError(
            507, "insufficient_storage", "no space left to store evidence files; nothing was stored"
        ) from exc


class EvidenceStore:
    """Files under `root`, named by the SHA-256 of their content (`ab/cd/abcd…`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes, sha256: str) -> bool:
        """Store `data` atomically; True if the file is new (the caller may remove it).

        The bytes go to a temporary file that is renamed into place only once complete and
        synced, so a reader never sees half a file. A full disk (or quota) raises
        `EvidenceError` 507 with the temporary file already gone.
        """
        target = self.path(sha256)
        if target.exists():
            return False
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        except OSError as exc:
            _raise_if_full(exc)
            raise
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                _raise_if_full(exc)
            raise
        return True

    def remove(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()
