"""The spike counts' entropy coding, in time: a binary range coder (:mod:`.rangecoder`), the
contexts of its models (:mod:`.contexts`), the compiled passes of a slice (:mod:`.passes`) and
the slices' orchestration (:mod:`.slices`), whose functions are the subpackage's interface."""

from .slices import (
    Layout,
    PlaneState,
    decode_slices,
    encode_slices,
    iter_decode_slices,
    number_of_slices,
)

__all__ = [
    "Layout",
    "PlaneState",
    "decode_slices",
    "encode_slices",
    "iter_decode_slices",
    "number_of_slices",
]
