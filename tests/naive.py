"""Naive reference implementations the compiled code is checked against: written from the
formulas with numpy, SciPy and loops, sharing nothing with the package but the tuned matrix
``V`` of the lapped pre-filter (and the zigzag sequence, as printed in ITU-T T.81)."""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

from spikecodec.transform.lapped import V

# ITU-T T.81 Figure A.6: raster index (row * 8 + column) of the k-th coefficient in zigzag order.
JPEG_ZIGZAG = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]  # fmt: skip

RGB_TO_YCOCG = np.array([[1, 2, 1], [2, 0, -2], [-1, 2, -1]]) / 4


def dct_matrix(n: int = 8) -> np.ndarray:
    """Orthonormal DCT-II matrix: ``C[k, m] = a(k) cos(pi (2m + 1) k / (2n))``."""
    C = np.empty((n, n))
    for k in range(n):
        a = math.sqrt(1.0 / n) if k == 0 else math.sqrt(2.0 / n)
        for m in range(n):
            C[k, m] = a * math.cos(math.pi * (2 * m + 1) * k / (2 * n))
    return C


def prefilter(v: np.ndarray = V) -> np.ndarray:
    """``P = 1/2 [[I, J], [J, -I]] diag(I, V) [[I, J], [J, -I]]`` (I, J: identity, reversal)."""
    I, J, Z = np.eye(4), np.fliplr(np.eye(4)), np.zeros((4, 4))
    B = np.block([[I, J], [J, -I]])
    return 0.5 * B @ np.block([[I, Z], [Z, v]]) @ B


PRE = prefilter()
POST = np.linalg.inv(PRE)


def strided(a: np.ndarray) -> np.ndarray:
    """``a`` as a view every other column of a wider array: not contiguous."""
    wide = np.zeros((a.shape[0], 2 * a.shape[1], *a.shape[2:]), a.dtype)
    wide[:, ::2] = a
    return wide[:, ::2]


def padded_edge(plane: np.ndarray) -> np.ndarray:
    h, w = plane.shape
    return np.pad(plane, ((0, -h % 8), (0, -w % 8)), mode="edge")


def lapped_loops(plane: np.ndarray) -> np.ndarray:
    """Edge-pad to multiples of 8, level-shift, pre-filter the 8 samples around every internal
    boundary of every row and column, then the DCT matrix on each block, in zigzag order."""
    x = padded_edge(plane.astype(np.float64)) - 128.0
    for axis in (0, 1):
        x = np.moveaxis(x, axis, 0)
        for b in range(8, x.shape[0], 8):
            x[b - 4 : b + 4] = PRE @ x[b - 4 : b + 4]
        x = np.moveaxis(x, 0, axis)
    C = dct_matrix()
    by, bx = x.shape[0] // 8, x.shape[1] // 8
    out = np.empty((by, bx, 64))
    for i in range(by):
        for j in range(bx):
            block = x[8 * i : 8 * i + 8, 8 * j : 8 * j + 8]
            out[i, j] = (C @ block @ C.T).ravel()[JPEG_ZIGZAG]
    return out


def _filter_boundaries(x, matrix, axis):
    x = np.moveaxis(x, axis, -1)
    blocks = x.shape[-1] // 8
    if blocks > 1:
        around = np.arange(1, blocks)[:, None] * 8 + np.arange(-4, 4)
        x[..., around] = x[..., around] @ matrix.T
    return np.moveaxis(x, -1, axis)


def lapped_dct(plane):
    """The lapped DCT with numpy and scipy.fft (vectorized over blocks)."""
    h, w = plane.shape
    x = np.pad(plane.astype(np.float64) - 128.0, ((0, -h % 8), (0, -w % 8)), mode="edge")
    x = _filter_boundaries(_filter_boundaries(x, PRE, 1), PRE, 0)
    by, bx = x.shape[0] // 8, x.shape[1] // 8
    blocks = x.reshape(by, 8, bx, 8).transpose(0, 2, 1, 3)
    coeffs = scipy.fft.dctn(blocks, type=2, axes=(2, 3), norm="ortho")
    return coeffs.reshape(by, bx, 64)[:, :, JPEG_ZIGZAG]


def inverse_lapped_dct(coeffs, shape):
    """The inverse of :func:`lapped_dct`, cropped to ``shape``."""
    by, bx, _ = coeffs.shape
    blocks = coeffs[:, :, np.argsort(JPEG_ZIGZAG)].reshape(by, bx, 8, 8)
    x = scipy.fft.idctn(blocks, type=2, axes=(2, 3), norm="ortho")
    plane = x.transpose(0, 2, 1, 3).reshape(by * 8, bx * 8)
    plane = _filter_boundaries(_filter_boundaries(plane, POST, 0), POST, 1)
    return plane[: shape[0], : shape[1]] + 128.0


def rgb_to_ycocg(rgb):
    """(H, W, 3) -> (3, H, W) float YCoCg, the chroma offset by 128."""
    ycc = np.tensordot(RGB_TO_YCOCG, rgb.astype(np.float64), axes=([1], [2]))
    ycc[1:] += 128.0
    return ycc


def ycocg_to_rgb_unrounded(y, cb, cr):
    """(3, H, W) float RGB."""
    return np.tensordot(np.linalg.inv(RGB_TO_YCOCG), np.stack([y, cb - 128.0, cr - 128.0]), 1)


def ycocg_to_rgb(y, cb, cr):
    """(H, W, 3) uint8 RGB, rounded and clipped."""
    rgb = ycocg_to_rgb_unrounded(y, cb, cr)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8).transpose(1, 2, 0)


def downsample_420(plane):
    """2x2 means, the last row/column replicated when the size is odd."""
    h, w = plane.shape
    padded = np.pad(plane, ((0, h % 2), (0, w % 2)), mode="edge")
    return padded.reshape((h + 1) // 2, 2, (w + 1) // 2, 2).mean(axis=(1, 3))


def _catmull_rom(t: float) -> list[float]:
    """Catmull-Rom weights of samples -1, 0, 1, 2 at ``0 <= t < 1`` past sample 0."""
    return [
        (-(t**3) + 2 * t**2 - t) / 2,
        (3 * t**3 - 5 * t**2 + 2) / 2,
        (-3 * t**3 + 4 * t**2 + t) / 2,
        (t**3 - t**2) / 2,
    ]


def upsample_1d(row: np.ndarray, size: int) -> list[float]:
    """A 2x upsampled row by Catmull-Rom interpolation, edges replicated: output pixel ``r``
    lies at ``r/2 - 1/4`` in chroma samples (the centre of a 2x2 cell is its chroma sample)."""
    n = len(row)
    out = []
    for r in range(size):
        x = r / 2 - 0.25
        i = math.floor(x)
        weights = _catmull_rom(x - i)
        out.append(sum(w * row[min(max(i - 1 + d, 0), n - 1)] for d, w in enumerate(weights)))
    return out


def upsample_420(plane, shape):
    """Separable 2x Catmull-Rom upsampling (columns, then rows), cropped to ``shape``."""
    columns = np.array([upsample_1d(c, shape[0]) for c in np.asarray(plane).T]).T
    return np.array([upsample_1d(r, shape[1]) for r in columns]).reshape(shape)


# --------------------------------------------------------------------------------------------
# The binary range coder and its bit models, as the entropy module's docstring states them.

P_BITS, P_MIN, FAST, SLOW = 16, 16, 15, 127


def _moved(e: int, m: int, bit: int) -> int:
    r = ((1 << P_BITS) + (m + 2) // 2) // (m + 2)
    e += (((bit << P_BITS) - e) * r) >> P_BITS
    return min(max(e, P_MIN), (1 << P_BITS) - P_MIN)


def adapted(model: tuple[int, int, int], bit: int) -> tuple[int, int, int]:
    """A model ``(fast, slow, n)`` after a bit: each estimate ``e += floor((2^16*bit - e) *
    r_m / 2^16)``, ``r_m = round(2^16/(m+2))``, ``m = min(n, FAST)`` or ``n``, clamped to
    ``[P_MIN, 2^16 - P_MIN]``; ``n`` counts up to ``SLOW``."""
    fast, slow, n = model
    return _moved(fast, min(n, FAST), bit), _moved(slow, n, bit), min(n + 1, SLOW)


def probability(model: tuple[int, int, int]) -> int:
    """What a model codes with: the mean of its two estimates."""
    return (model[0] + model[1]) >> 1


NEW_MODEL = (1 << (P_BITS - 1), 1 << (P_BITS - 1), 0)


class RangeEncoder:
    """LZMA's range encoder (carry through a cached byte), its leading zero byte dropped."""

    def __init__(self):
        self.low, self.range, self.cache, self.pending = 0, 0xFFFFFFFF, 0, 1
        self.out, self.first = bytearray(), True

    def bit(self, p: int, bit: int) -> None:
        """Code ``bit`` with ``P(1) = p / 2^16``: 0 below ``bound``, 1 above."""
        bound = (self.range >> P_BITS) * ((1 << P_BITS) - p)
        if bit:
            self.low += bound
            self.range -= bound
        else:
            self.range = bound
        while self.range < 1 << 24:
            self.range <<= 8
            if self.low < 0xFF000000 or self.low >= 1 << 32:
                carry = self.low >> 32
                byte = self.cache + carry
                for _ in range(self.pending):
                    if self.first:
                        self.first = False
                    else:
                        self.out.append(byte & 0xFF)
                    byte = 0xFF + carry
                self.pending = 0
                self.cache = (self.low >> 24) & 0xFF
            self.pending += 1
            self.low = (self.low & 0x00FFFFFF) << 8

    def finish(self) -> bytes:
        """48 bits 0 at probability 1/2 flush LOW; trailing zero bytes are dropped."""
        for _ in range(48):
            self.bit(1 << (P_BITS - 1), 0)
        return bytes(self.out).rstrip(b"\0")


class RangeDecoder:
    """The decoder of :class:`RangeEncoder`: zeros past the end of the bytes."""

    def __init__(self, data: bytes):
        self.data, self.pos, self.range = data, 4, 0xFFFFFFFF
        self.code = int.from_bytes(data[:4].ljust(4, b"\0"), "big")

    def bit(self, p: int) -> int:
        bound = (self.range >> P_BITS) * ((1 << P_BITS) - p)
        bit = int(self.code >= bound)
        if bit:
            self.code -= bound
            self.range -= bound
        else:
            self.range = bound
        while self.range < 1 << 24:
            self.range <<= 8
            byte = self.data[self.pos] if self.pos < len(self.data) else 0
            self.pos += 1
            self.code = ((self.code << 8) | byte) & 0xFFFFFFFF
        return bit


def code_with_models(bits, contexts, n_contexts: int) -> bytes:
    """Bits coded with adaptive models (context -1: probability 1/2, no model)."""
    models = [NEW_MODEL] * n_contexts
    enc = RangeEncoder()
    for bit, ctx in zip(bits, contexts, strict=True):
        if ctx < 0:
            enc.bit(1 << (P_BITS - 1), bit)
        else:
            enc.bit(probability(models[ctx]), bit)
            models[ctx] = adapted(models[ctx], bit)
    return enc.finish()


def lifting_53(x: list[int]) -> list[int]:
    """One level of JPEG 2000's reversible 5/3 wavelet of an even-length sequence (ITU-T T.800
    equations F-9 and F-10), interleaved: ``Y(2n+1) = X(2n+1) - floor((X(2n) + X(2n+2))/2)``,
    ``Y(2n) = X(2n) + floor((Y(2n-1) + Y(2n+1) + 2)/4)``, periodic symmetric extension."""
    n = len(x)

    def mirror(i: int) -> int:
        return -i if i < 0 else (2 * (n - 1) - i if i >= n else i)

    y = list(x)
    for i in range(1, n, 2):
        y[i] = x[i] - (x[mirror(i - 1)] + x[mirror(i + 1)]) // 2
    for i in range(0, n, 2):
        y[i] = x[i] + (y[mirror(i - 1)] + y[mirror(i + 1)] + 2) // 4
    return y


def wavelet_blocks(plane: np.ndarray, levels: int = 3, low_shift: int = 3) -> np.ndarray:
    """The 5/3 wavelet's Mallat picture of the edge-padded plane (rows, then columns, of the
    low band, ``levels`` times), regrouped into 8x8 wavelet blocks: the coefficients of a
    block's footprint placed as the bands lie in the picture, the low band times
    ``2**low_shift``; zigzag order."""
    m = padded_edge(np.asarray(plane, np.int64)).astype(object)
    h, w = m.shape
    for level in range(levels):
        rows, cols = h >> level, w >> level
        for r in range(rows):
            y = lifting_53(list(m[r, :cols]))
            m[r, :cols] = y[0::2] + y[1::2]
        for c in range(cols):
            y = lifting_53(list(m[:rows, c]))
            m[:rows, c] = y[0::2] + y[1::2]
    by, bx = h // 8, w // 8
    out = np.zeros((by, bx, 8, 8), np.int64)
    for i in range(by):
        for j in range(bx):
            for u in range(8):
                for v in range(8):
                    top = max(u, v)
                    if top == 0:
                        out[i, j, u, v] = m[i, j] * 2**low_shift
                        continue
                    level = 3 if top < 2 else (2 if top < 4 else 1)
                    n = 8 >> level
                    row = (h >> level if u >= n else 0) + i * n + u % n
                    col = (w >> level if v >= n else 0) + j * n + v % n
                    out[i, j, u, v] = m[row, col]
    return out.reshape(by, bx, 64)[..., JPEG_ZIGZAG]
