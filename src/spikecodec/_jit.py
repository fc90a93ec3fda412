"""The package's one policy for compiled code: numba's decorators and the bit intrinsics.

Every compiled function of spikecodec is a :data:`kernel` (or an :data:`inline` kernel that
numba copies into its callers): ``numba.njit`` with the on-disk cache (the first call of a
process loads the machine code from ``__pycache__``; a fresh install compiles it once), without
the GIL (so that threads can run kernels side by side) and without numba's reference counting
of arrays (``_nrt=False``): the kernels allocate nothing, and the counting would otherwise cost
more than the work wherever arrays pass through two levels of calls.

numba's cache does not notice an edit to a function that another module's cached kernel calls
(it keys each kernel on its own source file): after editing a kernel used elsewhere, delete the
``*.nbi``/``*.nbc`` files (``make clean``).

This module is the only one that imports numba; importing it loads numba (about 0.3 s), so the
package imports it only from the modules that hold kernels, which ``import spikecodec`` does
not load.
"""

from __future__ import annotations

import numba
from numba.cpython.unsafe.numbers import leading_zeros, trailing_zeros
from numba.extending import intrinsic

__all__ = ["inline", "kernel", "leading_zeros", "popcount", "trailing_zeros"]

kernel = numba.njit(cache=True, nogil=True, _nrt=False)
"""The decorator of every compiled function (see the module docstring)."""

inline = numba.njit(cache=True, nogil=True, _nrt=False, inline="always")
"""A :data:`kernel` that numba inlines into its callers (small helpers on hot paths)."""


@intrinsic
def popcount(typingctx, x):
    """The number of bits set in an integer (LLVM's ``ctpop``)."""

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return x(x), codegen
