"""The rate–distortion and speed harness: reference codecs behind one interface.

:mod:`spikecodec.bench.codecs` holds the codecs and their registry; the names most callers need
are re-exported here.
"""

from .codecs import CODECS, Codec, PillowCodec, get_codec, register_codec

__all__ = ["CODECS", "Codec", "PillowCodec", "get_codec", "register_codec"]
