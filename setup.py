"""Build spikecodec's compiled kernels: every ``src/spikecodec/**/*.pyx`` becomes a C extension.

The kernels are Cython compiled to C at install time (a C compiler is needed then, never at run
time). ``-ffp-contract=off`` keeps the compiler from fusing a multiply and an add, which rounds
once instead of twice: the streams and images must be the same bytes on every machine.
``-fwrapv``: signed integer arithmetic wraps (64-bit two's complement, as the format specifies
and numba computed), where C would leave an overflow undefined (the sums of a corrupt stream).
"""

from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

SOURCES = sorted(Path("src").glob("spikecodec/**/*.pyx"))

extensions = [
    Extension(
        ".".join(path.relative_to("src").with_suffix("").parts),
        [str(path)],
        extra_compile_args=["-O3", "-ffp-contract=off", "-fwrapv"],
    )
    for path in SOURCES
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={
            "language_level": 3,
            "annotation_typing": False,
            "embedsignature": True,
        },
    )
)
