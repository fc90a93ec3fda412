"""What the commands read and write: files or standard input and output (``-``), image files
by extension with their metadata, and their reports on standard error."""

from __future__ import annotations

import argparse
import io
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from .._io import write_atomic
from ..errors import ParameterError, SpikeCodecWarning, UnsupportedImageError
from ..format import container

__all__ = [
    "LOSSY_FORMATS",
    "UsageError",
    "add_verbosity",
    "check_output",
    "image_file_bytes",
    "image_format",
    "read_input",
    "report_stream",
    "say",
    "write_output",
]

STDIO = "-"
LOSSY_FORMATS = ("JPEG", "WEBP", "AVIF")
"""The Pillow formats that take a quality."""


class UsageError(ParameterError):
    """Arguments that do not make a command (exit code 2, as argparse's own)."""


def add_verbosity(parser: argparse.ArgumentParser) -> None:
    """``--quiet`` (no report) and ``--verbose`` (more of it)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quiet", action="store_true", help="report nothing but errors")
    group.add_argument("-v", "--verbose", action="store_true", help="report more")


def say(args: argparse.Namespace, message: str) -> None:
    """A report, on standard error (standard output may carry a file), unless ``--quiet``."""
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr)


def read_input(source: str) -> bytes | str:
    """A path as it is, or the bytes of standard input for ``-``."""
    return sys.stdin.buffer.read() if source == STDIO else source


def image_format(path: str, given: str | None = None) -> str:
    """The Pillow format an image output is written in: ``given``, else what the extension of
    ``path`` names (:class:`ParameterError` if neither tells)."""
    if given:
        fmt = given.upper()
        if fmt not in Image.SAVE:
            raise ParameterError(f"--format {given}: Pillow does not write that format")
        return fmt
    if path == STDIO:
        raise ParameterError("writing to standard output needs --format (e.g. --format png)")
    fmt = Image.registered_extensions().get(Path(path).suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise ParameterError(
            f"{path}: cannot tell an image format Pillow writes from its extension"
        )
    return fmt


def check_output(path: str, suffix: str | None, *, force: bool) -> None:
    """Refuse, before any work, an output path that cannot be written: its folder missing, a
    folder itself, another extension than ``suffix`` (if given), existing without ``force``."""
    if path == STDIO:
        return
    target = Path(path)
    if target.is_dir():
        raise ParameterError(f"{path} is a folder, not a file")
    if not target.parent.is_dir():
        raise ParameterError(f"{path}: no such folder {target.parent}")
    if suffix and target.suffix.lower() != suffix:
        raise ParameterError(f"{path}: the output of this command is a {suffix} file")
    if target.exists() and not force:
        raise FileExistsError(f"{path} exists (use --force to overwrite it)")


def write_output(path: str, data: bytes, *, force: bool) -> None:
    """``data`` to standard output (``-``), or to ``path`` whole or not at all."""
    if path == STDIO:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_atomic(path, data, force=force)


def _metadata_options(fmt: str, info: dict[str, bytes]) -> dict:
    """``Image.save`` options that write ``info``'s ICC profile, EXIF and XMP in ``fmt``, as far
    as the format holds them (PNG, JPEG, TIFF and WebP hold all three)."""
    options = {key: info[key] for key in ("icc_profile", "exif") if key in info}
    xmp = info.get("xmp")
    if xmp and fmt in ("JPEG", "WEBP", "MPO"):
        options["xmp"] = xmp
    elif xmp and fmt == "PNG":
        text = PngImagePlugin.PngInfo()
        text.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8", "replace"))
        options["pnginfo"] = text
    elif xmp and fmt == "TIFF":  # the XMP tag among the EXIF's (tiffinfo replaces exif)
        tags = Image.Exif()
        if "exif" in options:
            tags.load(options.pop("exif"))
        tags[700] = xmp
        options["tiffinfo"] = tags
    return options


def _deep_png(image: np.ndarray, info: dict) -> bytes:
    """A 16-bit PNG file (pypng) of an ``(H, W, planes)`` uint16 image, 2 planes gray and
    alpha, 3 RGB, 4 RGBA, with ``info``'s ICC profile (iCCP), EXIF (eXIf) and XMP (iTXt)."""
    import png

    height, width, planes = image.shape
    writer = png.Writer(width, height, greyscale=planes == 2, alpha=planes in (2, 4), bitdepth=16)
    out = io.BytesIO()
    writer.write(out, image.reshape(height, width * planes))
    chunks = list(png.Reader(bytes=out.getvalue()).chunks())
    extra = []
    if info.get("icc_profile"):
        extra.append((b"iCCP", b"ICC profile\0\0" + zlib.compress(info["icc_profile"])))
    if info.get("exif"):
        exif = info["exif"]
        extra.append((b"eXIf", exif[6:] if exif.startswith(b"Exif\0\0") else exif))
    if info.get("xmp"):
        extra.append((b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + info["xmp"]))
    out = io.BytesIO()
    png.write_chunks(out, chunks[:1] + extra + chunks[1:])
    return out.getvalue()


def _deep_tiff(image: np.ndarray, info: dict) -> bytes:
    """A 16-bit TIFF file (tifffile) of an ``(H, W, planes)`` uint16 image, 3 planes RGB, 4
    RGBA (the alpha an unassociated extra sample), uncompressed as Pillow writes TIFF, with
    ``info``'s ICC profile (tag 34675) and XMP (tag 700); an EXIF block is dropped with a
    :class:`~spikecodec.SpikeCodecWarning` (write PNG to keep it)."""
    import tifffile

    if info.get("exif"):
        message = "a 16-bit TIFF is written without the EXIF block (write PNG to keep it)"
        warnings.warn(message, SpikeCodecWarning, stacklevel=3)
    tags = [
        (tag, "B", len(info[key]), info[key], True)
        for tag, key in ((34675, "icc_profile"), (700, "xmp"))
        if info.get(key)
    ]
    out = io.BytesIO()
    tifffile.imwrite(
        out,
        image,
        photometric="rgb",
        extrasamples=["unassalpha"] if image.shape[2] == 4 else None,
        extratags=tags,
        metadata=None,
    )
    return out.getvalue()


def image_file_bytes(
    image: np.ndarray, fmt: str, info: dict | None = None, quality: int | None = None
) -> bytes:
    """``image`` as the bytes of a file in Pillow's format ``fmt``, with the metadata of
    ``info`` where the format holds it, at ``quality`` for the formats that take one. An
    alpha plane goes where the format holds one, else it is dropped with a
    :class:`~spikecodec.SpikeCodecWarning` (as dwebp writes PPM); 16-bit gray goes into
    16-bit files (PNG, TIFF), 16-bit colour or alpha into 16-bit PNG files (:func:`_deep_png`),
    16-bit colour with or without alpha into TIFF files too (:func:`_deep_tiff`; Pillow reads
    no 16-bit gray-and-alpha TIFF), and is refused for the other formats, which Pillow does not
    write at 16 bits."""
    if image.dtype == np.uint16 and image.ndim == 3:
        formats = ("PNG", "TIFF") if image.shape[2] > 2 else ("PNG",)
        if fmt not in formats:
            raise UnsupportedImageError(
                f"16-bit {'colour' if image.shape[2] > 2 else 'gray-and-alpha'} images are "
                f"written as {' or '.join(formats)}, not {fmt} (Pillow writes no such files; "
                "spikecodec.decode gives the uint16 array)"
            )
        return (_deep_png if fmt == "PNG" else _deep_tiff)(image, info or {})
    options = _metadata_options(fmt, info or {})
    if quality is not None:
        options["quality"] = quality
    picture = Image.fromarray(image)
    try:
        buf = io.BytesIO()
        picture.save(buf, format=fmt, **options)
    except (OSError, KeyError, ValueError):
        if picture.mode not in ("LA", "RGBA"):
            raise
        message = f"{fmt} holds no alpha plane: it is dropped (write PNG, WebP or TIFF to keep it)"
        warnings.warn(message, SpikeCodecWarning, stacklevel=2)
        buf = io.BytesIO()
        picture.convert(picture.mode[:-1]).save(buf, format=fmt, **options)
    return buf.getvalue()


def report_stream(args: argparse.Namespace, path: str, data: bytes) -> None:
    """Report ``path: N bytes, B bpp`` of a stream written (more with ``--verbose``)."""
    h = container.read_header(data)
    line = f"{path}: {len(data)} bytes, {8 * len(data) / (h.width * h.height):.4f} bpp"
    if getattr(args, "verbose", False):
        colour = (f"RGB {h.subsampling}" if h.mode == "RGB" else "L") + " + alpha" * h.alpha
        rate = "lossless" if h.reversible else f"theta {h.theta:g}"
        line += f" ({h.width}x{h.height} {colour}, {h.slices} time slices, {rate})"
    say(args, line)
