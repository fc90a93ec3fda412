# The C preamble the transform kernels share (lapped.pyx and colour.pyx cimport it; Cython puts
# this block before their own C): how their loop functions are compiled for the machine's SIMD
# and how a clipped sample becomes a byte.
cdef extern from *:
    """
    #include <stddef.h>
    #include <stdint.h>
    #include <string.h>

    /* Every loop function is compiled for x86-64-v4 (AVX-512), AVX2 and plain x86-64, the
       machine's picked at load time: they round alike (setup.py forbids contracting a*b + c
       into an FMA). Building with -DSPK_SIMD= (or -DSPK_SIMD= -mavx2) gives one version. */
    #if !defined(SPK_SIMD) && defined(__x86_64__) && defined(__linux__) && defined(__has_attribute)
    #  if __has_attribute(target_clones) && !defined(__clang__) && __GNUC__ >= 12
    #    define SPK_SIMD __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
    #  elif __has_attribute(target_clones)
    #    define SPK_SIMD __attribute__((target_clones("avx2", "default")))
    #  endif
    #endif
    #ifndef SPK_SIMD
    #  define SPK_SIMD
    #endif
    #define SPK_INLINE static inline __attribute__((always_inline))
    /* For a function clipping to 0..255: `0 > v ? 0 : v` and `255 < v ? 255 : v` become the
       min/max instructions they are (the same on every finite v; a NaN sample has no
       defined byte, in numba either). */
    #if defined(__GNUC__) && !defined(__clang__)
    #  define SPK_CLIPPING __attribute__((optimize("finite-math-only", "no-signed-zeros")))
    #else
    #  define SPK_CLIPPING
    #endif
    /* Comparisons need not be kept from raising FP exceptions (nothing reads the flags, as
       numba's LLVM assumes): lets the clipping loops vectorize; no result changes. The
       region opened here ends with the C block of the module that cimports this. */
    #if defined(__GNUC__) && !defined(__clang__)
    #  pragma GCC push_options
    #  pragma GCC optimize("no-trapping-math")
    #endif

    /* A v already clipped to 0..255, rounded half to even, as a byte: v + 1.5 2^52 is rounded
       to an integer (exactly as rint(v), for |v| < 2^51), which its low bits hold. */
    SPK_INLINE uint8_t spk_rounded_byte(double v)
    {
        double t = v + 6755399441055744.0;
        uint64_t bits;
        memcpy(&bits, &t, sizeof bits);
        return (uint8_t)bits;
    }
    """
    unsigned char spk_rounded_byte(double v) nogil
