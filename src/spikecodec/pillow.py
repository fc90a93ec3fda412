"""The Pillow plugin: ``Image.open`` and ``Image.save`` for ``.spk`` spike streams.

In the style of pillow-heif and pillow-avif-plugin, one call makes the codec usable wherever
Pillow is::

    >>> import spikecodec.pillow
    >>> spikecodec.pillow.register_pillow()
    >>> from PIL import Image
    >>> im = Image.open("photo.spk")             # doctest: +SKIP
    >>> im.save("copy.spk", quality=50)          # doctest: +SKIP

Opening is lazy: ``Image.open`` reads only the header (``container.HEADER_SIZE`` bytes: format
``"SPK"``, mode ``"L"`` or ``"RGB"``, size); the spike stream is decoded on ``load()`` (or any
pixel access) by :func:`spikecodec.decode`, in full and non-strict. A damaged time slice
therefore does not stop ``Image.open``: ``load()`` emits a :class:`~spikecodec.SpikeCodecWarning`
and gives the image of the intact slices before it, and a stream cut short gives the image of
the instant it reaches (truncation is the codec's rate control, not an error). Any other
decoding failure raises :class:`SpkLoadError`, an ``OSError`` as Pillow callers expect and a
:class:`~spikecodec.SpikeCodecError`. Streams are recognized by their magic bytes
:data:`spikecodec.format.MAGIC`, whatever the file's extension. The pixel limit is Pillow's
own (``Image.MAX_IMAGE_PIXELS``, checked by ``Image.open``).

Saving takes :func:`spikecodec.encode`'s options as keyword arguments of ``Image.save``:
``quality`` (1..100) or ``theta``, and ``R``, ``C``, ``T``, ``table``, ``bias``, ``chroma``;
other keywords (``optimize``, ``exif``...) are ignored as other Pillow plugins ignore the
options they do not know. Images are converted as :func:`spikecodec.load_image` converts them
(palette, bilevel, CMYK... to L or RGB); images with alpha are refused with its
:class:`~spikecodec.UnsupportedImageError`.
"""

from __future__ import annotations

from typing import IO

from PIL import Image, ImageFile

from .codec import decode, encode
from .errors import SpikeCodecError
from .format import container
from .params import ENCODE_OPTIONS

__all__ = ["FORMAT", "SpkImageFile", "SpkLoadError", "register_pillow"]

FORMAT = "SPK"
DESCRIPTION = "spikecodec spike stream"
EXTENSION = ".spk"
MIME = "image/x-spikecodec"
_DECODER = "spk"


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
            header = container.read_header(head, _max_pixels())
        except SpikeCodecError as err:  # Pillow's "not this format / broken header" signal
            raise SyntaxError(f"not a valid spikecodec stream: {err}") from err
        self.spk_header = header
        self._mode = header.mode
        self._size = (header.width, header.height)
        self.tile = [ImageFile._Tile(_DECODER, (0, 0, *self._size), 0, (header.mode,))]

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
    """Decodes a whole ``.spk`` stream (header included: the tile starts at offset 0)."""

    _pulls_fd = True

    def decode(self, buffer: bytes | Image.SupportsArrayInterface) -> tuple[int, int]:
        """Decode the whole stream from the file (Pillow's buffer is not used)."""
        assert self.fd is not None
        data = self.fd.read()
        try:
            pixels = decode(data, max_pixels=_max_pixels())
        except SpikeCodecError as err:
            raise SpkLoadError(f"cannot decode the spike stream: {err}") from err
        size = (self.state.xsize, self.state.ysize)
        if pixels.shape[1::-1] != size:
            raise SpkLoadError(f"the stream decoded to {pixels.shape}, not the size {size}")
        self.set_as_raw(pixels.tobytes(), self.mode)
        return -1, 0


def _save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    """Encode ``im`` with :func:`spikecodec.encode` and the options given to ``Image.save``."""
    options = {key: im.encoderinfo[key] for key in ENCODE_OPTIONS if key in im.encoderinfo}
    fp.write(encode(im, **options))


def register_pillow() -> None:
    """Register the ``.spk`` format with Pillow (open by magic bytes, save, extension, MIME).

    Idempotent: calling it again re-registers the same handlers.
    """
    Image.register_open(FORMAT, SpkImageFile, _accept)
    Image.register_decoder(_DECODER, SpkDecoder)
    Image.register_save(FORMAT, _save)
    Image.register_extension(FORMAT, EXTENSION)
    Image.register_mime(FORMAT, MIME)
