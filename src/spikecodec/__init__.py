"""spikecodec: image compression with spiking neurons.

The public API: :func:`encode` / :func:`decode`, :func:`truncate` (a stream cut to a rate),
the neuron (:class:`LIF`), its quantizer (:class:`NeuroQuantizer`) and the library's errors
(all :class:`SpikeCodecError`).
"""

from .codec import decode, decode_counts, decode_progressive, encode, load_image, spike_counts
from .errors import (
    CorruptStreamError,
    LimitError,
    RateControlError,
    SpikeCodecError,
    SpikeCodecWarning,
    TruncatedStreamError,
    UnsupportedImageError,
)
from .events import Events, load_events, save_events, to_events
from .neuron import LIF, SpikeEvents
from .pillow import register_pillow
from .quantizer import NeuroQuantizer
from .ratecontrol import truncate

__all__ = [
    "LIF",
    "CorruptStreamError",
    "Events",
    "LimitError",
    "NeuroQuantizer",
    "RateControlError",
    "SpikeCodecError",
    "SpikeCodecWarning",
    "SpikeEvents",
    "TruncatedStreamError",
    "UnsupportedImageError",
    "decode",
    "decode_counts",
    "decode_progressive",
    "encode",
    "load_events",
    "load_image",
    "register_pillow",
    "save_events",
    "spike_counts",
    "to_events",
    "truncate",
]
__version__ = "0.1.0"
