"""The spike counts' entropy coding, in time: a binary range coder (:mod:`.rangecoder`), the
contexts of its models (:mod:`.contexts`), the compiled passes of a slice (:mod:`.passes`), the
slices' orchestration over an image (:mod:`.slices`) and its independent stripes
(:mod:`.stripes`), whose functions are the subpackage's interface."""

from .slices import Layout, PlaneState, encode_slices, number_of_slices
from .stripes import decode_stripes, encode_stripes, iter_decode_stripes

__all__ = [
    "Layout",
    "PlaneState",
    "decode_stripes",
    "encode_slices",
    "encode_stripes",
    "iter_decode_stripes",
    "number_of_slices",
]
