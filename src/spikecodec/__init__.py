"""spikecodec: image compression with spiking neurons.

The public API: :func:`encode` / :func:`decode`, the neuron (:class:`LIF`), its quantizer
(:class:`NeuroQuantizer`) and the library's errors (all :class:`SpikeCodecError`).
"""

from .codec import decode, decode_counts, decode_progressive, encode, load_image, spike_counts
from .errors import (
    CorruptStreamError,
    LimitError,
    SpikeCodecError,
    SpikeCodecWarning,
    TruncatedStreamError,
    UnsupportedImageError,
)
from .neuron import LIF, SpikeEvents
from .quantizer import NeuroQuantizer

__all__ = [
    "LIF",
    "CorruptStreamError",
    "LimitError",
    "NeuroQuantizer",
    "SpikeCodecError",
    "SpikeCodecWarning",
    "SpikeEvents",
    "TruncatedStreamError",
    "UnsupportedImageError",
    "decode",
    "decode_counts",
    "decode_progressive",
    "encode",
    "load_image",
    "spike_counts",
]
__version__ = "0.1.0"
