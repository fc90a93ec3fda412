"""spikecodec: image compression with spiking neurons.

The public API: :func:`encode` / :func:`decode` (and :func:`decode_progressive`,
:func:`truncate`, a stream cut to a rate), the neurons' counts (:func:`spike_counts`,
:func:`decode_counts`) and spikes (:func:`to_events`), the neuron (:class:`LIF`) and its
quantizer (:class:`NeuroQuantizer`), the Pillow plugin (:func:`register_pillow`) and the
library's errors (all :class:`SpikeCodecError`).

``import spikecodec`` loads only the errors: each other name loads its module, and the
compiled kernels behind it, on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .errors import (
    CorruptStreamError,
    LimitError,
    ParameterError,
    RateControlError,
    SpikeCodecError,
    SpikeCodecWarning,
    TruncatedStreamError,
    UnsupportedImageError,
)

if TYPE_CHECKING:  # what __getattr__ loads, for type checkers
    from .codec import decode, decode_counts, decode_progressive, encode, spike_counts  # noqa: F401
    from .events import (  # noqa: F401
        Events,
        TonicEvents,
        from_events,
        load_events,
        save_events,
        to_events,
    )
    from .images import load_image  # noqa: F401
    from .neuron import LIF, SpikeEvents  # noqa: F401
    from .nirgraph import events_from_spikes, to_nir  # noqa: F401
    from .pillow import register_pillow  # noqa: F401
    from .quantizer import NeuroQuantizer  # noqa: F401
    from .ratecontrol import truncate  # noqa: F401

__version__ = "0.1.0"

_LAZY = {
    "decode": "codec",
    "decode_counts": "codec",
    "decode_progressive": "codec",
    "encode": "codec",
    "spike_counts": "codec",
    "Events": "events",
    "TonicEvents": "events",
    "from_events": "events",
    "load_events": "events",
    "save_events": "events",
    "to_events": "events",
    "load_image": "images",
    "LIF": "neuron",
    "SpikeEvents": "neuron",
    "events_from_spikes": "nirgraph",
    "to_nir": "nirgraph",
    "register_pillow": "pillow",
    "NeuroQuantizer": "quantizer",
    "truncate": "ratecontrol",
}

__all__ = [
    "CorruptStreamError",
    "LimitError",
    "ParameterError",
    "RateControlError",
    "SpikeCodecError",
    "SpikeCodecWarning",
    "TruncatedStreamError",
    "UnsupportedImageError",
    *_LAZY,
]


def __getattr__(name: str):
    """Load a public name's module on first use (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
