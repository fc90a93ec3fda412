"""The transforms the neurons see: colour conversion with chroma resampling
(:mod:`~spikecodec.transform.colour`) and the lapped 8x8 DCT (:mod:`~spikecodec.transform.lapped`).
"""

from .colour import colour_image, colour_planes
from .lapped import Synthesis, lapped_dct

__all__ = ["Synthesis", "colour_image", "colour_planes", "lapped_dct"]
