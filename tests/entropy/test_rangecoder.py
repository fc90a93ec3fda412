"""The binary range coder: the same bytes as a coder written here from its description
(:mod:`naive`), exact round trips, streams cut anywhere, and a rate near the entropy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import naive
from spikecodec.entropy.rangecoder import (
    decode_bits,
    encode_bits,
    finish,
    new_models,
    new_state,
    start_decoding,
)


def _encode(bits, contexts, models, st, buf):
    assert encode_bits(st, buf, models, contexts, bits) == len(bits)  # the buffer has room


def encode(bits, contexts, n_contexts) -> bytes:
    bits, contexts = np.asarray(bits, np.int64), np.asarray(contexts, np.int64)
    models, st = new_models(n_contexts), new_state()
    buf = np.zeros(2 * bits.size + 64, np.uint8)
    _encode(bits, contexts, models, st, buf)
    return buf[: finish(st, buf, models)].tobytes()


def decode(data: bytes, contexts, n_contexts, complete=True) -> np.ndarray:
    contexts = np.asarray(contexts, np.int64)
    models, st = new_models(n_contexts), new_state()
    buf = np.frombuffer(data, np.uint8).copy()
    start_decoding(st, buf, complete)
    out = np.empty(contexts.size, np.int64)
    decoded = decode_bits(st, buf, models, contexts, out)
    assert decoded == (int(np.argmax(out < 0)) if (out < 0).any() else out.size)
    return out


def random_symbols(seed: int, n: int, n_contexts: int):
    """Bits of ``n_contexts`` contexts of different skews, some at probability 1/2 (-1)."""
    rng = np.random.default_rng(seed)
    contexts = rng.integers(-1, n_contexts, n)
    skew = rng.uniform(0.02, 0.98, n_contexts + 1)
    bits = (rng.random(n) < skew[contexts]).astype(np.int64)
    return bits, contexts


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 3000), n_contexts=st.integers(1, 9))
def test_the_bytes_are_those_of_the_described_coder(seed, n, n_contexts):
    bits, contexts = random_symbols(seed, n, n_contexts)
    data = encode(bits, contexts, n_contexts)
    assert data == naive.code_with_models(bits.tolist(), contexts.tolist(), n_contexts)
    np.testing.assert_array_equal(decode(data, contexts, n_contexts), bits)


def test_the_described_decoder_reads_the_bytes():
    bits, contexts = random_symbols(7, 5000, 4)
    data = encode(bits, contexts, 4)
    decoder, models = naive.RangeDecoder(data), [naive.NEW_MODEL] * 4
    for bit, ctx in zip(bits, contexts, strict=True):
        if ctx < 0:
            assert decoder.bit(1 << 15) == bit
        else:
            assert decoder.bit(naive.probability(models[ctx])) == bit
            models[ctx] = naive.adapted(models[ctx], int(bit))


def test_the_models_adapt_as_described():
    bits, contexts = random_symbols(3, 400, 2)
    models = new_models(2)
    st, buf = new_state(), np.zeros(2000, np.uint8)
    _encode(bits, contexts, models, st, buf)
    expected = [naive.NEW_MODEL] * 2
    for bit, ctx in zip(bits, contexts, strict=True):
        if ctx >= 0:
            expected[ctx] = naive.adapted(expected[ctx], int(bit))
    assert [tuple(m) for m in models.tolist()] == expected


@pytest.mark.parametrize("seed", range(4))
def test_a_stream_cut_anywhere_decodes_a_prefix_of_the_bits(seed):
    bits, contexts = random_symbols(seed, 1500, 5)
    data = encode(bits, contexts, 5)
    reached = []
    for m in range(len(data) + 1):
        out = decode(data[:m], contexts, 5, complete=False)
        known = int(np.argmax(out < 0)) if (out < 0).any() else out.size
        assert np.all(out[known:] == -1)
        np.testing.assert_array_equal(out[:known], bits[:known])
        reached.append(known)
    assert reached == sorted(reached) and reached[0] == 0
    assert reached[-1] >= bits.size - 64  # the dropped trailing zeros hold the last few bits
    np.testing.assert_array_equal(decode(data, contexts, 5, complete=True), bits)


@pytest.mark.parametrize("p1", [0.5, 0.1, 0.01])
def test_the_rate_is_the_models_code_length(p1):
    # The file is within 2 % of the ideal code length -log2 P(bit) of the coder's own models
    # (which learn a skewed source within a few percent of its entropy). The split point
    # (range >> 16) * (2^16 - p) truncates the range to its top 16 bits, which gives a 1 up to
    # 1/256 more probability than its model: below its code length when the model
    # underestimates rare ones.
    rng = np.random.default_rng(11)
    n = 200_000
    bits = (rng.random(n) < p1).astype(np.int64)
    data = encode(bits, np.zeros(n, np.int64), 1)
    ideal, model = 0.0, naive.NEW_MODEL
    for bit in bits.tolist():
        p = naive.probability(model) / 65536
        ideal -= math.log2(p if bit else 1 - p)
        model = naive.adapted(model, bit)
    assert len(data) == pytest.approx(ideal / 8, rel=0.02, abs=8)
    # Forgetting costs a little over the entropy of a steady source (the fast estimate).
    entropy = n * -(p1 * math.log2(p1) + (1 - p1) * math.log2(1 - p1))
    assert ideal < 1.15 * entropy


def test_a_full_buffer_stops_the_encoder_where_it_can_resume():
    bits, contexts = random_symbols(5, 3000, 3)
    models, st = new_models(3), new_state()
    buf = np.zeros(64, np.uint8)
    done = 0
    while done < bits.size:  # grow the buffer whenever it is full, as the slices do
        done += encode_bits(st, buf, models, contexts[done:], bits[done:])
        buf = np.concatenate([buf, np.zeros_like(buf)])
    assert buf[: finish(st, buf, models)].tobytes() == encode(bits, contexts, 3)


def test_the_bulk_entry_points_refuse_what_no_coder_takes():
    st, buf, models = new_state(), np.zeros(64, np.uint8), new_models(2)
    with pytest.raises(ValueError):
        encode_bits(st, buf, models, [2], [1])  # no context 2
    with pytest.raises(ValueError):
        encode_bits(st, buf, models, [-2], [1])
    with pytest.raises(ValueError):
        encode_bits(st, buf, models, [0, 1], [1])
    with pytest.raises(ValueError):
        encode_bits(st, buf, np.zeros((2, 3), np.int64), [0], [1])  # probability 0
    with pytest.raises(ValueError):
        finish(st, np.zeros(8, np.uint8), models)  # no room for the flush


def test_the_leading_byte_and_trailing_zeros_are_not_written():
    assert encode([], [], 1) == b""
    assert encode([0] * 100, [-1] * 100, 1) == b""  # all zeros at 1/2: LOW stays 0
    assert encode([1], [-1], 1)[0] != 0
