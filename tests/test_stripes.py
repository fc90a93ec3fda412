"""Streams in stripes through the codec: how many the encoder writes, bytes and images the same
whatever the threads, every cut of a striped stream a prefix of its counts, the CLI's options."""

from __future__ import annotations

import numpy as np
import pytest

import spikecodec as sc
from spikecodec.cli import main
from spikecodec.data import load_sample
from spikecodec.format import container


def textured(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth gradient with noise: every block has something to code."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    image = 128 + 60 * np.sin(x / 37.0) * np.cos(y / 23.0) + rng.normal(0, 12, (height, width))
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def two_megapixels():
    return textured(1024, 2048)


def test_the_encoder_writes_a_stripe_per_8_megapixels(monkeypatch, two_megapixels):
    """The rule, on an image small enough to test: with stripes of 2**14 blocks (the rule's
    2**17 scaled down), 2 megapixels make 2 stripes, fewer make one, and a stripe has at least
    16 luma block rows."""
    from spikecodec import codec

    assert codec.STRIPE_BLOCKS == 1 << 17 and codec.STRIPE_ROWS == 16
    monkeypatch.setattr(codec, "STRIPE_BLOCKS", 1 << 14)
    data = sc.encode(two_megapixels, 30)
    assert container.read_header(data).stripes == 2  # 32768 blocks
    assert "STRIPES" in [name for name, *_ in container.unpack(data).chunks]
    small = two_megapixels[:1000]  # below 2**15 blocks: one stripe, no STRIPES chunk
    assert container.read_header(sc.encode(small, 30)).stripes == 1
    wide = textured(256, 8192)  # 32768 blocks but 32 rows: 2 stripes of 16 rows
    assert container.read_header(sc.encode(wide, 30)).stripes == 2
    flat = textured(128, 16384)  # 32768 blocks in 16 rows: one stripe
    assert container.read_header(sc.encode(flat, 30)).stripes == 1


def test_rgb_from_a_megapixel_on_codes_luma_and_chroma_apart(monkeypatch):
    from spikecodec import codec
    from spikecodec.errors import ParameterError

    assert codec.SPLIT_BLOCKS == 1 << 14
    monkeypatch.setattr(codec, "SPLIT_BLOCKS", 96)  # the 64x96 crop's blocks
    image = np.asarray(load_sample("kodim05"))[:64, :96]
    split = sc.encode(image, 70)
    header = container.read_header(split)
    assert header.split and header.stripes == 1
    assert split == sc.encode(image, 70, split_chroma=True)
    together = sc.encode(image, 70, split_chroma=False)
    assert not container.read_header(together).split
    np.testing.assert_array_equal(sc.decode(split), sc.decode(together))
    # the second stream's ends only: the slices' table and a few bytes a slice
    assert len(split) - len(together) <= 11 + 10 * header.slices
    assert not container.read_header(sc.encode(image[..., 0], 70)).split  # gray: no chroma
    with pytest.raises(ParameterError, match="split_chroma"):
        sc.encode(image[..., 0], 70, split_chroma=True)


def test_one_stripe_is_the_stream_without_stripes():
    image = np.asarray(load_sample("kodim05"))[:128, :192]
    data = sc.encode(image, 60)
    assert sc.encode(image, 60, stripes=1) == data
    assert [name for name, *_ in container.unpack(data).chunks if name != "SLICE"] == []


def test_threads_change_neither_the_bytes_nor_the_image(two_megapixels):
    data = sc.encode(two_megapixels, 50, stripes=5, threads=1)
    assert sc.encode(two_megapixels, 50, stripes=5, threads=2) == data
    assert sc.encode(two_megapixels, 50, stripes=5) == data
    image = sc.decode(data, threads=1)
    np.testing.assert_array_equal(sc.decode(data, threads=2), image)
    np.testing.assert_array_equal(sc.decode(data, threads=8), image)
    assert sc.metrics.psnr(two_megapixels, image) > 30


@pytest.mark.parametrize("kwargs", [{"quality": 70}, {"lossless": True}])
def test_stripes_cost_little_and_decode_alike(kwargs):
    image = np.asarray(load_sample("kodim23"))
    one = sc.encode(image, **kwargs)
    three = sc.encode(image, stripes=3, **kwargs)
    assert len(one) < len(three) < 1.05 * len(one)  # stripes of about 340 blocks each
    np.testing.assert_array_equal(sc.decode(three), sc.decode(one))  # the same counts
    if kwargs.get("lossless"):
        np.testing.assert_array_equal(sc.decode(three), image)


def test_every_cut_of_a_striped_stream_knows_a_prefix_of_its_counts():
    image = np.asarray(load_sample("kodim05"))[:64, :96]
    data = sc.encode(image, 80, stripes=3)
    _, whole = sc.decode_counts(data)
    truth = [st.counts() for st in whole]
    first = container.unpack(data).first_slice
    before = [np.full(t.shape, 99) for t in truth]
    for n in [*range(first, len(data), 3), len(data)]:
        _, states = sc.decode_counts(sc.truncate(data, n))
        for st, t, old in zip(states, truth, before, strict=True):
            level = st.level.astype(np.int64)
            np.testing.assert_array_equal(st.prefix, np.abs(t) >> level)
            assert np.all(level <= old)  # more bytes never know less
        before = [st.level.astype(np.int64) for st in states]
    assert all(np.all(b == 0) for b in before)


def test_until_on_a_striped_stream_is_a_cut_of_it():
    image = np.asarray(load_sample("kodim23"))[:96, :128]
    data = sc.encode(image, 75, stripes=2)
    header = container.read_header(data)
    dyadic = 2.0 ** -(header.slices // 2)
    expected = sc.decode(
        container.pack(header, container.unpack(data).slices[: header.slices - header.slices // 2])
    )
    np.testing.assert_array_equal(sc.decode(data, until=dyadic), expected)


def test_the_cli_takes_stripes_and_threads(tmp_path):
    source = tmp_path / "in.png"
    from PIL import Image

    Image.fromarray(np.asarray(load_sample("kodim05"))[:128, :192]).save(source)
    out = tmp_path / "out.spk"
    assert (
        main(["encode", str(source), str(out), "-q", "60", "--stripes", "3", "--threads", "2"]) == 0
    )
    data = out.read_bytes()
    assert container.read_header(data).stripes == 3
    assert data == sc.encode(np.asarray(Image.open(source)), 60, stripes=3)
    png = tmp_path / "out.png"
    assert main(["decode", str(out), str(png), "--threads", "2"]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(png)), sc.decode(data))
    assert main(["encode", str(source), str(tmp_path / "x.spk"), "--stripes", "99"]) != 0
    assert not (tmp_path / "x.spk").exists()


def test_a_stream_has_at_most_256_stripes_and_their_models_stay_bounded():
    import struct
    import tracemalloc
    import zlib

    from spikecodec.errors import CorruptStreamError, ParameterError

    image = textured(8 * 257, 8)  # 257 block rows, one block each
    with pytest.raises(ParameterError, match="at most 256"):
        sc.encode(image, 50, stripes=257)
    data = sc.encode(image, 50, stripes=256)
    tracemalloc.start()
    try:
        frames = list(sc.decode_progressive(data))  # every stripe's decoder alive at once
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(frames[-1][1], sc.decode(sc.encode(image, 50)))
    assert peak < 64 << 20  # 256 stripes' models are 34 MB
    head = [h for name, h, *_ in container.unpack(data).chunks if name == "STRIPES"][0]
    hostile = bytearray(data)
    struct.pack_into("<H", hostile, head + 8, 257)
    crc = zlib.crc32(
        bytes(hostile[head + 8 : head + 11]), zlib.crc32(bytes(hostile[head : head + 4]))
    )
    struct.pack_into("<I", hostile, head + 4, crc)
    with pytest.raises(CorruptStreamError, match="257 stripes"):
        sc.decode(bytes(hostile))
