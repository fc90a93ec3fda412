"""The Pillow plugin: ``Image.open`` and ``Image.save`` for ``.spk`` spike streams.

In the style of pillow-heif and pillow-avif-plugin, one call makes the codec usable wherever
Pillow is::

    >>> import spikecodec.pillow
    >>> spikecodec.pillow.register_pillow()
    >>> from PIL import Image
    >>> im = Image.open("photo.spk")             # doctest: +SKIP
    >>> im.save("copy.spk", quality=50)          # doctest: +SKIP

Opening is lazy: ``Image.open`` reads only the header (format ``"SPK"``, mode ``"L"`` or
``"RGB"``, ``"LA"`` or ``"RGBA"`` for an image with alpha, or ``"I;16"`` for a 16-bit gray
stream, lossless or lossy, size; a 16-bit RGB or alpha stream opens in its 8-bit mode with the
top 8 bits of its samples, as Pillow reads 48- and 64-bit PNG files), the alpha plane and the
metadata chunks after it, into ``im.info`` (``"icc_profile"``,
``"exif"``, so that ``im.getexif()`` works, and ``"xmp"``); the spike stream is decoded on
``load()`` (or any
pixel access) by :func:`spikecodec.decode`, in full and non-strict. A damaged time slice
therefore does not stop ``Image.open``: ``load()`` emits a :class:`~spikecodec.SpikeCodecWarning`
and gives the image of the intact slices before it, and a stream cut short gives the image of
the instant it reaches (truncation is the codec's rate control, not an error). Any other
decoding failure raises :class:`SpkLoadError`, an ``OSError`` as Pillow callers expect and a
:class:`~spikecodec.SpikeCodecError`. Streams are recognized by their magic bytes
:data:`spikecodec.format.MAGIC`, whatever the file's extension. The pixel limit is Pillow's
own (``Image.MAX_IMAGE_PIXELS``, checked by ``Image.open``).

``verify()`` reads the whole file and checks every CRC and that the stream is complete (a
stream cut short by accident fails; a cut stream made by :func:`spikecodec.truncate` is
complete). Pillow's incremental :class:`PIL.ImageFile.Parser` decodes as the bytes arrive:
fed a stream in pieces, it holds an image as soon as the first time slice is in, and a better
one with every slice after it.

Saving takes :func:`spikecodec.encode`'s options as keyword arguments of ``Image.save``:
``quality`` (1..100) or ``theta``, ``R``, ``C``, ``T``, ``table``, ``bias``, ``chroma``,
``tune``, ``subsampling``, the targets ``target_bytes``, ``target_bpp``, ``target_psnr``,
``strip``, ``alpha_quality``, ``keep_alpha``, ``stripes``, ``threads``, and ``icc_profile``,
``exif`` (bytes or ``Image.Exif``), ``xmp`` (the image's own ``info`` by default); any other
keyword is refused (:class:`~spikecodec.ParameterError`), and so
is ``save_all`` of more than one frame (a ``.spk`` stream holds one image; of one frame it
saves that). Images are converted as :func:`spikecodec.load_image` converts them (palette,
bilevel, CMYK... to L or RGB; LA, RGBA, PA and transparency keys to LA or RGBA, coded with
their alpha plane, which opens as LA or RGBA).
"""

from __future__ import annotations

from typing import IO

import numpy as np
from PIL import Image, ImageFile

from .codec import decode, encode
from .errors import ParameterError, SpikeCodecError
from .format import container
from .images import METADATA_KEYS
from .params import ENCODE_OPTIONS

__all__ = ["FORMAT", "SpkImageFile", "SpkLoadError", "register_pillow"]

FORMAT = "SPK"
DESCRIPTION = "spikecodec spike stream"
EXTENSION = ".spk"
MIME = "image/x-spikecodec"
_DECODER = "spk"
_SAVE_OPTIONS = (
    *ENCODE_OPTIONS,
    *METADATA_KEYS,
    "target_bytes",
    "target_bpp",
    "target_psnr",
    "strip",
    "alpha_quality",
    "keep_alpha",
    "stripes",
    "threads",
)


class SpkLoadError(SpikeCodecError, OSError):
    """A ``.spk`` stream opened by Pillow failed to decode on ``load()``.

    Both an :class:`OSError` (what Pillow callers catch for a broken image file) and a
    :class:`~spikecodec.SpikeCodecError`; the codec's own error is its ``__cause__``.
    """


def _accept(prefix: bytes) -> bool:
    return prefix.startswith(container.MAGIC)


def _max_pixels() -> int:
    """No limit of the codec's own: Pillow's ``Image.MAX_IMAGE_PIXELS`` check applies on open."""
    return 1 << 62


class SpkImageFile(ImageFile.ImageFile):
    """A ``.spk`` spike stream opened by Pillow (format ``"SPK"``).

    ``spk_header`` holds the stream's :class:`~spikecodec.params.Header` (neuron parameters,
    number of time slices) as soon as the image is open.
    """

    format = FORMAT
    format_description = DESCRIPTION

    def _open(self) -> None:
        assert self.fp is not None
        head = self.fp.read(container.HEADER_SIZE)
        try:
            container.read_header(head, _max_pixels())
            prefix = head + self._metadata_chunks()  # SAMPLES and metadata too
            stream = container.unpack(prefix, _max_pixels())
            header = stream.header
            self.info.update(stream.metadata)
        except SpikeCodecError as err:  # Pillow's "not this format / broken header" signal
            raise SyntaxError(f"not a valid spikecodec stream: {err}") from err
        self.spk_header = header
        self._mode = header.mode + ("A" if header.alpha else "")
        if header.depth == 16 and self._mode == "L":
            self._mode = "I;16"
        self._size = (header.width, header.height)
        self.tile = [ImageFile._Tile(_DECODER, (0, 0, *self._size), 0, (self._mode,))]

    def _metadata_chunks(self) -> bytes:
        """The chunks between the header and the first time slice (SAMPLES, ALPHA, metadata),
        read from the file."""
        assert self.fp is not None
        chunks = b""
        while len(head := self.fp.read(container.CHUNK_HEAD_SIZE)) == container.CHUNK_HEAD_SIZE:
            kind, length, _ = container.chunk_head(head)
            if kind in (0, container.SLICE_TYPE):  # padding, or the first time slice
                break
            chunks += head + self.fp.read(length)
        return chunks

    def verify(self) -> None:
        """Check the whole stream: every CRC, and that it is complete (``SyntaxError`` for a
        damaged stream, ``OSError`` for one cut short by accident)."""
        assert self.fp is not None
        self.fp.seek(0)
        data = self.fp.read()
        try:
            stream = container.unpack(data, _max_pixels())
        except SpikeCodecError as err:
            raise SyntaxError(f"damaged spikecodec stream: {err}") from err
        if stream.damaged:
            raise SyntaxError(f"damaged metadata chunk(s) {', '.join(stream.damaged)}")
        if len(data) < stream.size:
            raise OSError(f"truncated spikecodec stream: {len(data)} of {stream.size} bytes")
        super().verify()

    def draft(self, mode: str | None, size: tuple[int, int] | None) -> None:
        """Accept Pillow's draft request as a no-op (returns None: nothing was changed).

        ``draft`` asks for a cheaper decode at a smaller size (``thumbnail`` calls it). The
        codec's cheap knob is time, not size: decoding up to an earlier instant (``until``)
        skips late time slices but gives a coarser image of the *same* size, and a smaller
        image (e.g. 1/8 scale from the DC neurons alone) would still need every slice
        entropy-decoded, since each slice carries one bit-plane of all the counts. No honest
        size-for-speed trade exists, so the full image is decoded and Pillow resizes it.
        """
        return None


class SpkDecoder(ImageFile.PyDecoder):
    """Decodes a ``.spk`` stream (header included: the tile starts at offset 0): the whole file
    at once on ``load()``, or, fed the bytes as they arrive (:class:`PIL.ImageFile.Parser`),
    again at each time slice completed."""

    _pulls_fd = True
    _slices = -1  # the slices of the last image given to an incremental parser

    def decode(self, buffer: bytes | Image.SupportsArrayInterface) -> tuple[int, int]:
        """Decode the whole stream from the file, or (no file: a parser feeding ``buffer``)
        what has arrived of it; ``(-1, 0)`` once the image is complete."""
        if self.fd is not None:
            self._show(self.fd.read())
            return -1, 0
        data = bytes(buffer)
        try:
            stream = container.unpack(data, _max_pixels())
        except SpikeCodecError as err:
            raise SpkLoadError(f"cannot decode the spike stream: {err}") from err
        done = len(data) >= stream.size
        if done or len(stream.slices) > self._slices:
            self._show(data)
            self._slices = len(stream.slices)
        return (-1, 0) if done else (0, 0)

    def _show(self, data: bytes) -> None:
        """Decode ``data`` into the image."""
        try:
            pixels = decode(data, max_pixels=_max_pixels())
        except SpikeCodecError as err:
            raise SpkLoadError(f"cannot decode the spike stream: {err}") from err
        size = (self.state.xsize, self.state.ysize)
        if pixels.shape[1::-1] != size:
            raise SpkLoadError(f"the stream decoded to {pixels.shape}, not the size {size}")
        if pixels.dtype == np.uint16 and self.mode != "I;16":  # no such mode: the top 8 bits
            pixels = (pixels >> 8).astype(np.uint8)
        self.set_as_raw(pixels.astype(pixels.dtype.newbyteorder("<")).tobytes(), self.mode)


def _save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    """Encode ``im`` with :func:`spikecodec.encode` and the options given to ``Image.save``
    (``icc_profile``, ``exif`` and ``xmp`` among them; by default those of ``im.info``)."""
    options = dict(im.encoderinfo)
    unknown = sorted(set(options) - set(_SAVE_OPTIONS))
    if unknown:
        raise ParameterError(
            f"the SPK format does not take {', '.join(unknown)}; it takes "
            f"{', '.join(_SAVE_OPTIONS)}"
        )
    if isinstance(options.get("exif"), Image.Exif):
        options["exif"] = options["exif"].tobytes()
    fp.write(encode(im, **options))


def _save_all(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    """``save_all``: a ``.spk`` stream holds one image, so one frame is saved, more refused."""
    frames = getattr(im, "n_frames", 1) + len(im.encoderinfo.pop("append_images", None) or [])
    if frames > 1:
        raise ParameterError(f"a .spk stream holds one image, not {frames} frames")
    _save(im, fp, filename)


def register_pillow() -> None:
    """Register the ``.spk`` format with Pillow (open by magic bytes, save, extension, MIME).

    Idempotent: calling it again re-registers the same handlers.
    """
    Image.register_open(FORMAT, SpkImageFile, _accept)
    Image.register_decoder(_DECODER, SpkDecoder)
    Image.register_save(FORMAT, _save)
    Image.register_save_all(FORMAT, _save_all)
    Image.register_extension(FORMAT, EXTENSION)
    Image.register_mime(FORMAT, MIME)
