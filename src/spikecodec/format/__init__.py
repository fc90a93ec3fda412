"""The ``.spk`` file format (:mod:`~spikecodec.format.container`): reading and writing streams
imports no compiled kernel."""

from .container import (
    CHUNK_HEAD_SIZE,
    HEADER_SIZE,
    MAGIC,
    MAX_IMAGE_PIXELS,
    Header,
    PartialChunk,
    Stream,
    cut_stream,
    emitted_by,
    pack,
    read_header,
    unpack,
)

__all__ = [
    "CHUNK_HEAD_SIZE",
    "HEADER_SIZE",
    "MAGIC",
    "MAX_IMAGE_PIXELS",
    "Header",
    "PartialChunk",
    "Stream",
    "cut_stream",
    "emitted_by",
    "pack",
    "read_header",
    "unpack",
]
