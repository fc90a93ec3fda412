"""Context-modelled range coding of spike counts, organized in time (one slice per bit-plane).

The count at the dyadic instant ``T/2^p`` is ``N_T >> p`` (NOTES, "Time is a bit-plane"), so
slice ``s`` carries bit-plane ``p = P-1-s`` of every count: listening from ``T/2^(p+1)`` to
``T/2^p`` reveals one more bit of each. A slice holds four passes, each its own range-coded
stream (constriction's ``stream.queue.RangeEncoder``) prefixed by its length, so that a decoder
stopping inside a slice still uses the passes it has in full:

1. **DC**: bit ``p`` of every DC count (significance and sign, or refinement), in two
   checkerboard halves; the context is where the block's DC predicted from its neighbours
   (boundary-pixel continuation, Lepton-style) falls against the decision point, so the
   second half is predicted from neighbours already known at ``T/2^p``.
2. **extent**: per block, does ``eob`` (1 + the last AC zigzag index whose count is non-zero)
   grow, and to what (a binary then a categorical symbol; context: previous ``eob`` and the
   neighbours' previous ``eob``). AC coefficients past ``eob`` are known silent, uncoded.
3. **significance**: for the silent AC coefficients before ``eob``, whether they fire now
   (context: frequency band, significant frequency neighbours in the block, same frequency in
   the 4 neighbouring blocks, distance to ``eob``), then the ON/OFF sign of each that does.
4. **refinement**: bit ``p`` of the AC counts already non-zero (context: band, first
   refinement or not).

Every context depends only on what the decoder holds before the symbol's batch. The
probabilities adapt: each context keeps counts of the symbols seen (halved past
``_AGE_LIMIT``), frozen over batches that grow geometrically within a pass (``_FIRST_BATCH``,
``_GROWTH``) and updated between them. Encoder and decoder run the same schedule, so the
decoder needs one constriction call per batch rather than one per symbol. Measured here:
constriction codes a batch of binary symbols at 20-24 ns a symbol (``Bernoulli(perfect=
False)``), a Python call per symbol costs ~1 µs; the frozen batches cost no measurable rate
against per-symbol adaptation (significance pass of Kodak 23 at q75, batches from 256
symbols: 12.40 KB, ideal sequential adaptation 12.31 KB). The rest of the decoding time is
numpy context work.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import constriction
import numpy as np

from .errors import CorruptStreamError
from .transform import ZIGZAG

__all__ = [
    "Layout",
    "PlaneState",
    "decode_slices",
    "encode_slices",
    "iter_decode_slices",
    "number_of_planes",
]

_FIRST_BATCH = 16
_GROWTH = 2
_PROB_FLOOR = 1.0 / 4096
_AGE_LIMIT = 256.0  # a context's counts are halved past this many observations
_NCOEF = 64
_IDX = np.arange(_NCOEF)

# Frequency bands by zigzag index: DC, then growing groups of AC coefficients.
_BAND = np.digitize(_IDX, [1, 3, 6, 10, 15, 21, 28, 36])
_COARSE_BAND = np.digitize(_IDX, [6, 21])  # 1-5, 6-20, 21-63 (DC has contexts of its own)
_BITLEN = np.minimum([int(v).bit_length() for v in range(_NCOEF + 1)], 6)
_EOB_DIST = np.digitize(np.arange(_NCOEF), [2, 6])  # distance to eob: 0-1, 2-5, 6+


def _frequency_neighbours() -> np.ndarray:
    """Zigzag indices of the 4 neighbours of each zigzag position in the 8x8 frequency grid.

    Off-grid neighbours point at index 64, a padding column that is never significant.
    """
    pos = np.empty(_NCOEF, dtype=np.int64)
    pos[ZIGZAG] = _IDX
    nbrs = np.full((_NCOEF, 4), _NCOEF, dtype=np.int64)
    for z, r in enumerate(ZIGZAG):
        i, j = divmod(int(r), 8)
        for n, (di, dj) in enumerate(((-1, 0), (1, 0), (0, -1), (0, 1))):
            if 0 <= i + di < 8 and 0 <= j + dj < 8:
                nbrs[z, n] = pos[(i + di) * 8 + j + dj]
    return nbrs


_FREQ_NBRS = _frequency_neighbours()

# Context counts of the four passes (each x2 for luma/chroma).
_EXTENT_CONTEXTS = 7 * 7 * 2
_SIG_CONTEXTS = 9 * 3 * 3 * 3 * 2
_SIGN_CONTEXTS = 2
_REFINE_CONTEXTS = 6 * 2
_DC_CONTEXTS = 3 * 8 * 2 * 2
_DC_SIGN_CONTEXTS = 3 * 2 * 2
_PASSES = 4

# DC bit contexts: where the neighbours' estimate lies against the decision point (units 2^p).
_DC_SIG_SPLITS = np.array([-0.75, -0.5, -0.25, 0.0, 0.5, 1.0, 2.0])
_DC_REF_SPLITS = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
_AC = _IDX >= 1


def _batches(n: int) -> Iterator[tuple[int, int]]:
    start, size = 0, _FIRST_BATCH
    while start < n:
        yield start, min(n, start + size)
        start += size
        size *= _GROWTH


class _AdaptiveModel:
    """Symbol counts per context, turned into probabilities frozen over each batch."""

    def __init__(self, contexts: int, alphabet: int):
        self.counts = np.full((contexts, alphabet), 0.5 if alphabet == 2 else 2.0 / alphabet)
        self.alphabet = alphabet
        model = constriction.stream.model
        self.family = (
            model.Bernoulli(perfect=False) if alphabet == 2 else model.Categorical(perfect=False)
        )

    def _probabilities(self, ctx: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
        rows = self.counts[ctx]
        if self.alphabet == 2:
            return np.clip(rows[:, 1] / rows.sum(axis=1), _PROB_FLOOR, 1 - _PROB_FLOOR)
        p = rows / rows.sum(axis=1, keepdims=True)
        p = np.maximum(p, _PROB_FLOOR)
        if allowed is not None:
            if not allowed.any(axis=1).all():
                raise CorruptStreamError("a symbol has no possible value (damaged stream)")
            p *= allowed
        return p / p.sum(axis=1, keepdims=True)

    def _update(self, ctx: np.ndarray, symbols: np.ndarray) -> None:
        seen = np.bincount(ctx * self.alphabet + symbols, minlength=self.counts.size)
        self.counts += seen.reshape(self.counts.shape)
        self.counts[self.counts.sum(axis=1) > _AGE_LIMIT] *= 0.5

    def encode(self, coder, ctx, symbols, allowed=None) -> None:
        for lo, hi in _batches(symbols.size):
            mask = None if allowed is None else allowed[lo:hi]
            p = self._probabilities(ctx[lo:hi], mask)
            coder.encode(symbols[lo:hi].astype(np.int32), self.family, p)
            self._update(ctx[lo:hi], symbols[lo:hi])

    def decode(self, coder, ctx, allowed=None) -> np.ndarray:
        out = np.empty(ctx.size, dtype=np.int64)
        for lo, hi in _batches(ctx.size):
            mask = None if allowed is None else allowed[lo:hi]
            p = self._probabilities(ctx[lo:hi], mask)
            out[lo:hi] = coder.decode(self.family, p)
            self._update(ctx[lo:hi], out[lo:hi])
        return out


class _Models:
    """The adaptive models of the four passes, shared by all slices of a stream."""

    def __init__(self):
        self.growth = _AdaptiveModel(_EXTENT_CONTEXTS, 2)
        self.extent = _AdaptiveModel(_EXTENT_CONTEXTS, _NCOEF + 1)
        self.significance = _AdaptiveModel(_SIG_CONTEXTS, 2)
        self.sign = _AdaptiveModel(_SIGN_CONTEXTS, 2)
        self.refinement = _AdaptiveModel(_REFINE_CONTEXTS, 2)
        self.dc = _AdaptiveModel(_DC_CONTEXTS, 2)
        self.dc_sign = _AdaptiveModel(_DC_SIGN_CONTEXTS, 2)


@dataclass(frozen=True)
class Layout:
    """A colour plane as the coder sees it: its blocks, whether it is chroma, and the relative
    quantization steps of its 64 bands (zigzag order), used only to shape contexts."""

    blocks: tuple[int, int]
    chroma: bool
    weights: np.ndarray


@dataclass
class PlaneState:
    """What is known of one colour plane's counts: ``|N| >> level`` and the sign.

    ``prefix`` and ``sign`` have shape ``(blocks_y, blocks_x, 64)`` (zigzag order); ``level``
    is the bit-plane each prefix refers to (an array of the same shape, since a decoder that
    stops inside a slice knows some counts one bit better than others): the count of each
    neuron at the instant ``T / 2**level`` is ``sign * prefix``.
    """

    prefix: np.ndarray
    sign: np.ndarray
    level: np.ndarray
    chroma: bool
    weights: np.ndarray

    @classmethod
    def empty(cls, layout: Layout, level: int) -> PlaneState:
        shape = (*layout.blocks, _NCOEF)
        weights = np.asarray(layout.weights, dtype=np.float64)
        return cls(
            np.zeros(shape, np.int64),
            np.zeros(shape, np.int8),
            np.full(shape, level, np.int8),
            layout.chroma,
            weights / weights[0],
        )

    def counts(self) -> np.ndarray:
        return self.sign * self.prefix


def _neighbour_mean(a: np.ndarray) -> np.ndarray:
    """Mean over the 4 neighbouring blocks of a (blocks_y, blocks_x, ...) array (edges kept)."""
    pad = [(1, 1), (1, 1)] + [(0, 0)] * (a.ndim - 2)
    e = np.pad(a.astype(np.float64), pad, mode="edge")
    return (e[:-2, 1:-1] + e[2:, 1:-1] + e[1:-1, :-2] + e[1:-1, 2:]) / 4


def _neighbour_count(sig: np.ndarray) -> np.ndarray:
    """How many of the 4 neighbouring blocks have the same coefficient significant (0-pad)."""
    e = np.pad(sig, [(1, 1), (1, 1), (0, 0)]).astype(np.int8)
    return e[:-2, 1:-1] + e[2:, 1:-1] + e[1:-1, :-2] + e[1:-1, 2:]


class _PlaneContexts:
    """Per bit-plane features of one colour plane, from what the decoder knows before it."""

    def __init__(self, prefix: np.ndarray, sign: np.ndarray, chroma: bool):
        self.prefix, self.sign, self.chroma = prefix, sign, int(chroma)
        self.sig = prefix > 0
        self.eob = (self.sig * _AC * (_IDX + 1)).max(axis=-1)

    def _extent_context(self) -> np.ndarray:
        near = _BITLEN[np.rint(_neighbour_mean(self.eob)).astype(np.int64)]
        return (_BITLEN[self.eob] * 7 + near) * 2 + self.chroma

    def growth(self) -> np.ndarray:
        """Contexts of the per-block "eob grows" bits."""
        return self._extent_context().ravel()

    def new_extent(self, grows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Contexts of the new eob of the growing blocks, and the values it may take."""
        allowed = np.arange(_NCOEF + 1) > np.maximum(self.eob[grows], 1).reshape(-1, 1)
        return self._extent_context()[grows], allowed

    def significance_positions(self, eob_now: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Masks of the coefficients coded in the significance pass and of the forced ones."""
        before = _AC & (_IDX < eob_now[..., None])
        forced = (_IDX == eob_now[..., None] - 1) & (eob_now > self.eob)[..., None]
        return before & ~self.sig & ~forced, forced

    def significance(self, coded: np.ndarray, eob_now: np.ndarray) -> np.ndarray:
        where = np.nonzero(coded)
        idx = where[2]
        sigpad = np.concatenate([self.sig, np.zeros((*self.sig.shape[:2], 1), bool)], axis=-1)
        blocks = sigpad[where[0], where[1]]
        n_in = np.minimum(np.take_along_axis(blocks, _FREQ_NBRS[idx], axis=1).sum(axis=1), 2)
        n_sp = np.minimum(_neighbour_count(self.sig)[where], 2)
        dist = _EOB_DIST[eob_now[where[0], where[1]] - 1 - idx]
        return (((_BAND[idx] * 3 + n_in) * 3 + n_sp) * 3 + dist) * 2 + self.chroma

    def sign_contexts(self, newly: np.ndarray) -> np.ndarray:
        return np.full(int(newly.sum()), self.chroma, dtype=np.int64)

    def refinement(self) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        where = np.nonzero(self.sig & _AC)
        first = (self.prefix[where] == 1).astype(np.int64)
        return where, (_COARSE_BAND[where[2]] * 2 + first) * 2 + self.chroma


def _edge_basis() -> np.ndarray:
    """(64, 8, 8) map from zigzag DCT coefficients to 8 boundary lines of the block's pixels:
    columns 0, 1, 7, 6 and rows 0, 1, 7, 6 (orthonormal DCT-II basis)."""
    n = np.arange(8)
    basis = np.sqrt(np.where(n == 0, 1.0, 2.0) / 8)[:, None] * np.cos(
        np.pi * (2 * n[None, :] + 1) * n[:, None] / 16
    )  # basis[u, i]
    u, v = np.divmod(ZIGZAG, 8)
    pixels = basis[u][:, :, None] * basis[v][:, None, :]  # (64, 8 rows, 8 cols)
    lines = [pixels[:, :, j] for j in (0, 1, 7, 6)] + [pixels[:, i, :] for i in (0, 1, 7, 6)]
    return np.stack(lines, axis=1)


_EDGES = _edge_basis()
_L0, _L1, _R0, _R1, _T0, _T1, _B0, _B1 = range(8)


def _values(st: PlaneState, p: int, band: slice = slice(None)) -> np.ndarray:
    """The known counts of ``band`` at the midpoints of their cells, in count units of plane
    p, scaled by the relative band steps ``st.weights``."""
    prefix, level = st.prefix[..., band], st.level[..., band]
    scale = np.ldexp(1.0, level.astype(np.int64) - p)
    values = np.where(prefix > 0, st.sign[..., band] * (prefix + 0.5) * scale, 0.0)
    return values * st.weights[band]


def _ac_edges(st: PlaneState, p: int) -> np.ndarray:
    """The boundary lines (blocks_y, blocks_x, 8, 8) of every block's AC part."""
    ac = _values(st, p)
    ac[..., 0] = 0.0
    by, bx = ac.shape[:2]
    return (ac.reshape(-1, _NCOEF) @ _EDGES.reshape(_NCOEF, -1)).reshape(by, bx, 8, 8)


def _dc_prediction(lines: np.ndarray, dc: np.ndarray) -> np.ndarray:
    """DC of every block predicted from its neighbours (units of the DC counts).

    Each neighbour predicts the DC that continues its boundary pixels (AC ``lines`` plus its
    own ``dc``/8) into the block with the mean of both sides' gradients (Lepton-style boundary
    matching); the prediction is the mean over the neighbours present.
    """
    full = lines + dc[..., None, None] / 8

    def continuation(a_edge, a_inner, b_edge, b_inner):
        return 8 * (a_edge + 0.5 * ((a_edge - a_inner) + (b_inner - b_edge)) - b_edge).mean(-1)

    total = np.zeros(dc.shape)
    count = np.zeros(dc.shape)
    pairs = (
        ((slice(None), slice(1, None)), (slice(None), slice(None, -1)), _L0, _L1, _R0, _R1),
        ((slice(None), slice(None, -1)), (slice(None), slice(1, None)), _R0, _R1, _L0, _L1),
        ((slice(1, None), slice(None)), (slice(None, -1), slice(None)), _T0, _T1, _B0, _B1),
        ((slice(None, -1), slice(None)), (slice(1, None), slice(None)), _B0, _B1, _T0, _T1),
    )
    for mine, theirs, b0, b1, a0, a1 in pairs:
        b, a = lines[mine], full[theirs]
        total[mine] += continuation(a[..., a0, :], a[..., a1, :], b[..., b0, :], b[..., b1, :])
        count[mine] += 1
    return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def _code_dc(io, models: _Models, states: list[PlaneState], p: int, mags=None, signs=None):
    """Bit p of every DC count, in two checkerboard halves: the second half is predicted from
    its four neighbours of the first, already at instant T/2^p (bit-plane DC prediction)."""
    edges = [_ac_edges(st, p) for st in states]
    for phase in (0, 1):
        ctx_all, truth, where_all = [], [], []
        for c, st in enumerate(states):
            by, bx = st.prefix.shape[:2]
            mine = (np.add.outer(np.arange(by), np.arange(bx)) % 2) == phase
            dc = _values(st, p, slice(0, 1))[..., 0]
            pred = _dc_prediction(edges[c], dc)[mine]
            u = st.prefix[..., 0][mine]
            own_sign = st.sign[..., 0][mine]
            sig_d = np.abs(pred) - 1.0
            ref_d = pred * own_sign - (2 * u + 1)
            state = np.minimum(u, 2)
            cls = np.where(
                u == 0,
                np.searchsorted(_DC_SIG_SPLITS, sig_d),
                np.searchsorted(_DC_REF_SPLITS, ref_d),
            )
            ctx_all.append(((state * 8 + cls) * 2 + phase) * 2 + st.chroma)
            where_all.append((mine, pred))
            if mags is not None:
                truth.append((mags[c][..., 0][mine] >> p) & 1)
        bits = io.code(models.dc, _concat(ctx_all), None if mags is None else _concat(truth))
        sizes = [x.size for x in ctx_all]
        newly_all, sign_ctx, sign_truth = [], [], []
        for c, (st, (mine, pred), b) in enumerate(zip(states, where_all, _split(bits, sizes))):
            u = st.prefix[..., 0][mine]
            newly = (u == 0) & (b == 1)
            newly_all.append(newly)
            side = np.searchsorted([-0.25, 0.25], pred[newly])
            sign_ctx.append((side * 2 + phase) * 2 + st.chroma)
            if signs is not None:
                sign_truth.append(signs[c][..., 0][mine][newly] < 0)
        negative = io.code(
            models.dc_sign, _concat(sign_ctx), None if signs is None else _concat(sign_truth)
        )
        sizes = [int(n.sum()) for n in newly_all]
        for st, (mine, _), b, newly, neg in zip(
            states,
            where_all,
            _split(bits, [x.size for x in ctx_all]),
            newly_all,
            _split(negative, sizes),
        ):
            dc = st.prefix[..., 0]
            dc[mine] = 2 * dc[mine] + b
            dc_sign = st.sign[..., 0]
            values = dc_sign[mine]
            values[newly] = np.where(neg == 1, -1, 1)
            dc_sign[mine] = values
            st.level[..., 0][mine] = p


def _write_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int] | None:
    """(value, next position), or None when the data ends inside the varint."""
    value = shift = 0
    while pos < len(data):
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 35:
            raise CorruptStreamError("pass length out of range")
    return None


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def number_of_planes(counts: list[np.ndarray]) -> int:
    """Bit-planes needed for the largest count magnitude (at least 1)."""
    top = max(int(np.abs(c).max(initial=0)) for c in counts)
    return max(top.bit_length(), 1)


class _Writer:
    """Encoding side of a pass: codes the true symbols it is given and returns them."""

    def __init__(self):
        self.streams: list[bytes] = []

    def begin(self) -> bool:
        self.coder = constriction.stream.queue.RangeEncoder()
        return True

    def code(self, model: _AdaptiveModel, ctx, symbols, allowed=None) -> np.ndarray:
        model.encode(self.coder, ctx, symbols, allowed)
        return symbols

    def end(self) -> None:
        self.streams.append(self.coder.get_compressed().astype("<u4").tobytes())

    def payload(self) -> bytes:
        return b"".join(_write_varint(len(s)) + s for s in self.streams)


class _Reader:
    """Decoding side of a pass: decodes the symbols from the pass streams present."""

    def __init__(self, streams: list[bytes]):
        self.streams = streams
        self.index = 0

    def begin(self) -> bool:
        if self.index >= len(self.streams):
            return False
        words = np.frombuffer(self.streams[self.index], dtype="<u4").copy()
        self.coder = constriction.stream.queue.RangeDecoder(words)
        return True

    def code(self, model: _AdaptiveModel, ctx, symbols, allowed=None) -> np.ndarray:
        return model.decode(self.coder, ctx, allowed)

    def end(self) -> None:
        self.index += 1


def _split(values: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    return np.split(values, np.cumsum(sizes)[:-1]) if sizes else []


def _code_plane(io, models: _Models, states: list[PlaneState], p: int, mags=None, signs=None):
    """Code bit-plane ``p`` of every colour plane and update ``states`` to the instant T/2^p.

    The same procedure runs on both sides: the writer is given the true count magnitudes
    ``mags`` and ``signs`` and codes the symbols; the reader decodes them.
    ``states`` then hold what a decoder knows, on both sides.
    """
    ctxs = [_PlaneContexts(st.prefix, st.sign, st.chroma) for st in states]
    now = None if mags is None else [(m >> p) > 0 for m in mags]

    # Pass 1, DC: bit p of every DC count, predicted from the neighbouring blocks.
    if not io.begin():
        return
    _code_dc(io, models, states, p, mags, signs)
    io.end()

    # Pass 2, extent: does each block's eob grow, and to what?
    if not io.begin():
        return
    grow_ctx = [c.growth() for c in ctxs]
    truth = None if now is None else [(n * _AC * (_IDX + 1)).max(axis=-1) for n in now]
    grows = io.code(
        models.growth,
        _concat(grow_ctx),
        None if truth is None else _concat([(t > c.eob).ravel() for t, c in zip(truth, ctxs)]),
    )
    grows = [
        g.reshape(c.eob.shape) == 1 for g, c in zip(_split(grows, [g.size for g in grow_ctx]), ctxs)
    ]
    new_ctx = [c.new_extent(g) for c, g in zip(ctxs, grows)]
    new_eob = io.code(
        models.extent,
        _concat([n[0] for n in new_ctx]),
        None if truth is None else _concat([t[g] for t, g in zip(truth, grows)]),
        np.concatenate([n[1] for n in new_ctx]),
    )
    eobs = []
    for c, g, values in zip(ctxs, grows, _split(new_eob, [int(g.sum()) for g in grows])):
        if np.any(values <= c.eob[g]):
            raise CorruptStreamError("a block's extent shrank in time")
        eob = c.eob.copy()
        eob[g] = values
        eobs.append(eob)
    for st, c, e in zip(states, ctxs, eobs):
        silent = _AC & (_IDX >= e[..., None]) & ~c.sig
        st.level[silent] = p
    io.end()

    # Pass 3, significance and sign of the silent coefficients before eob.
    if not io.begin():
        return
    positions = [c.significance_positions(e) for c, e in zip(ctxs, eobs)]
    sig_ctx = [c.significance(pos[0], e) for c, pos, e in zip(ctxs, positions, eobs)]
    bits = io.code(
        models.significance,
        _concat(sig_ctx),
        None if now is None else _concat([n[pos[0]] for n, pos in zip(now, positions)]),
    )
    newly_all = []
    for (coded, forced), b in zip(positions, _split(bits, [c.size for c in sig_ctx])):
        newly = forced.copy()
        newly[coded] = b == 1
        newly_all.append(newly)
    sign_ctx = [c.sign_contexts(n) for c, n in zip(ctxs, newly_all)]
    negative = io.code(
        models.sign,
        _concat(sign_ctx),
        None if signs is None else _concat([s[n] < 0 for s, n in zip(signs, newly_all)]),
    )
    for st, c, newly, neg in zip(
        states, ctxs, newly_all, _split(negative, [c.size for c in sign_ctx])
    ):
        st.sign[newly] = np.where(neg == 1, -1, 1)
        st.prefix[newly] = 1
        st.level[~c.sig & _AC] = p
    io.end()

    # Pass 4, refinement: bit p of the counts that were already non-zero.
    if not io.begin():
        return
    refine = [c.refinement() for c in ctxs]
    bits = io.code(
        models.refinement,
        _concat([r[1] for r in refine]),
        None if mags is None else _concat([(m[r[0]] >> p) & 1 for m, r in zip(mags, refine)]),
    )
    for st, (where, _), b in zip(states, refine, _split(bits, [r[1].size for r in refine])):
        st.prefix[where] = 2 * st.prefix[where] + b
        st.level[where] = p
    io.end()


def encode_slices(counts: list[np.ndarray], layouts: list[Layout], planes: int) -> list[bytes]:
    """Code signed counts (one ``(blocks_y, blocks_x, 64)`` array per colour plane) in time.

    Returns ``planes`` slice payloads, the earliest instant (most significant bit) first.
    """
    models = _Models()
    mags = [np.abs(c) for c in counts]
    signs = [np.sign(c) for c in counts]
    states = [PlaneState.empty(layout, planes) for layout in layouts]
    slices = []
    for p in range(planes - 1, -1, -1):
        writer = _Writer()
        _code_plane(writer, models, states, p, mags, signs)
        slices.append(writer.payload())
    return slices


def _split_passes(payload: bytes, complete: bool) -> list[bytes]:
    """The pass streams of a slice; of a partial slice, only those fully present."""
    streams, pos = [], 0
    while pos < len(payload):
        head = _read_varint(payload, pos)
        if head is None:
            break
        length, pos = head
        if pos + length > len(payload):
            if complete:
                raise CorruptStreamError("a pass runs past the end of its time slice")
            break
        streams.append(payload[pos : pos + length])
        pos += length
    if complete and len(streams) != _PASSES:
        raise CorruptStreamError(f"a time slice holds {len(streams)} passes, not {_PASSES}")
    if any(len(s) % 4 for s in streams):
        raise CorruptStreamError("a pass is not a whole number of 32-bit words")
    return streams


def _decode_into(
    states: list[PlaneState], planes: int, chunks: list[bytes], partial: bytes
) -> Iterator[int]:
    """Decode the slices present into ``states``, yielding the index of each slice done."""
    models = _Models()
    payloads = [(c, True) for c in chunks[:planes]] + ([(partial, False)] if partial else [])
    for s, (payload, complete) in enumerate(payloads):
        reader = _Reader(_split_passes(payload, complete))
        try:
            _code_plane(reader, models, states, planes - 1 - s)
        except CorruptStreamError:
            raise
        except Exception as err:  # constriction rejects some malformed streams itself
            raise CorruptStreamError(f"time slice {s} does not decode: {err}") from err
        yield s


def iter_decode_slices(
    layouts: list[Layout], planes: int, chunks: list[bytes], partial: bytes = b""
) -> Iterator[list[PlaneState]]:
    """Decode the time slices present one by one (the last maybe partial, using the passes
    it holds in full), yielding the states after each: one :class:`PlaneState` per colour
    plane, each count known at the latest instant reached for it (updated in place)."""
    states = [PlaneState.empty(layout, planes) for layout in layouts]
    for _ in _decode_into(states, planes, chunks, partial):
        yield states


def decode_slices(
    layouts: list[Layout], planes: int, chunks: list[bytes], partial: bytes = b""
) -> list[PlaneState]:
    """The states after decoding every slice present (see :func:`iter_decode_slices`)."""
    states = [PlaneState.empty(layout, planes) for layout in layouts]
    for _ in _decode_into(states, planes, chunks, partial):
        pass
    return states
