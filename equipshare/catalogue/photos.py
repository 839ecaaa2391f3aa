"""Instrument photos: checked with Pillow, re-encoded (which drops EXIF and anything hidden after
the image data), stored under UPLOAD_FOLDER with a random name.

The browser's file name and Content-Type are never trusted: only what Pillow decodes counts.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MAX_PIXELS = 40_000_000  # refuse decompression bombs long before Pillow's own limit
MAX_EDGE = 1600  # stored photos are scaled down to fit this box
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")


class PhotoError(ValueError):
    """The upload is not an acceptable photo; ``str(error)`` says why (English, translated by callers)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ProcessedPhoto:
    data: bytes
    extension: str


def process_photo(data: bytes, max_bytes: int) -> ProcessedPhoto:
    """Check an uploaded file and re-encode it. Raises PhotoError(reason) with reason one of
    ``empty``, ``too_large``, ``not_an_image``, ``wrong_type``, ``too_many_pixels``."""
    if not data:
        raise PhotoError("empty")
    if len(data) > max_bytes:
        raise PhotoError("too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                width, height = probe.size
                probe.verify()
            if fmt not in ACCEPTED_FORMATS:
                raise PhotoError("wrong_type")
            if width * height > MAX_PIXELS:
                raise PhotoError("too_many_pixels")
            # verify() leaves the image unusable: open again to decode it fully.
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                img = ImageOps.exif_transpose(img)
                img.thumbnail((MAX_EDGE, MAX_EDGE))
                return ProcessedPhoto(_encode(img, fmt), ACCEPTED_FORMATS[fmt])
    except PhotoError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError("not_an_image") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        # Truncated or corrupt data: Pillow raises a variety of these.
        raise PhotoError("not_an_image") from None


def _encode(img: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        if img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        img.save(out, "JPEG", quality=85, optimize=True)
    elif fmt == "PNG":
        if img.mode not in ("RGB", "RGBA", "L", "LA"):
            img = img.convert("RGBA")
        img.save(out, "PNG", optimize=True)
    else:
        if img.mode not in ("RGB", "RGBA"):
            img = img.convert("RGBA" if "A" in img.mode or img.mode == "P" else "RGB")
        img.save(out, "WEBP", quality=85)
    return out.getvalue()


def store_photo(folder: str | os.PathLike, photo: ProcessedPhoto) -> str:
    """Write the photo under a fresh random name; returns the name."""
    directory = Path(folder)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{photo.extension}"
    tmp = directory / f".{name}.part"
    tmp.write_bytes(photo.data)
    os.replace(tmp, directory / name)
    return name


def delete_photo(folder: str | os.PathLike, name: str | None) -> None:
    """Remove a stored photo; ignores names we did not generate and files already gone."""
    if not name or not STORED_NAME.match(name):
        return
    try:
        (Path(folder) / name).unlink()
    except FileNotFoundError:
        pass


def is_stored_name(name: str | None) -> bool:
    return bool(name and STORED_NAME.match(name))
