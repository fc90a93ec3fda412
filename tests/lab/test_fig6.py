"""Fig. 6: its rates against independent computations, its averaging and its files."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from scipy.fft import idctn

from spikecodec import encode, spike_counts
from spikecodec.lab.bench.codecs import JPEG
from spikecodec.lab.figures import (
    FIG6_COLUMNS,
    FIG6_QUALITIES,
    _jpeg_coefficients,
    fig6,
    fig6_table,
    load_sample,
)

COLUMNS = [*FIG6_COLUMNS, "spk_entropy/file"]


@pytest.fixture(scope="module")
def crops():
    """Two small luma crops, 60x76 (not whole 8x8 blocks: the codecs pad)."""
    luma = np.asarray(Image.fromarray(load_sample()).convert("L"))
    return [luma[100:160, 40:116], luma[20:80, 150:226]]


@pytest.fixture(scope="module")
def one(crops, tmp_path_factory):
    """Fig. 6 of the first crop: its files and the CSV as ``{column: values}``."""
    files = fig6(tmp_path_factory.mktemp("fig6"), crops[:1], names=["crop"])
    data = np.loadtxt(files.csv, delimiter=",", skiprows=1, ndmin=2)
    return files, dict(zip(COLUMNS, data.T, strict=True))


def test_files_are_written(one):
    files, _ = one
    assert files.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert files.csv.read_text().splitlines()[0] == ",".join(COLUMNS)
    summary = json.loads(files.json.read_text())
    assert summary["images"] == 1 and summary["names"] == ["crop"]
    assert [row["quality"] for row in summary["mean"]] == list(FIG6_QUALITIES)


def test_entropy_rate_is_the_zeroth_order_entropy_of_the_spike_counts(one, crops):
    _, csv = one
    image = crops[0]
    for q, rate in zip(FIG6_QUALITIES, csv["spk_entropy_bpp"], strict=True):
        counts = np.concatenate([c.ravel() for c in spike_counts(image, quality=q)[1]])
        _, n = np.unique(counts, return_counts=True)
        p = n / counts.size
        assert rate == pytest.approx(-np.sum(p * np.log2(p)) * counts.size / image.size)


def test_file_rates_are_the_real_bytes(one, crops):
    _, csv = one
    image = crops[0]
    spk = [8 * len(encode(image, quality=q)) / image.size for q in FIG6_QUALITIES]
    jpg = [8 * len(JPEG().encode(image, q)) / image.size for q in FIG6_QUALITIES]
    np.testing.assert_array_equal(csv["spk_file_bpp"], spk)
    np.testing.assert_array_equal(csv["jpeg_file_bpp"], jpg)
    np.testing.assert_allclose(csv["spk_entropy/file"], csv["spk_entropy_bpp"] / np.array(spk))


def test_curves_are_monotone_in_quality(one):
    _, csv = one
    for codec in ("spk", "jpeg"):
        for metric in ("entropy_bpp", "file_bpp", "psnr", "ssim"):
            assert np.all(np.diff(csv[f"{codec}_{metric}"]) > 0), (codec, metric)


def test_means_are_per_quality_means_over_the_images(crops, tmp_path):
    files = fig6(tmp_path, crops, qualities=(20, 80))
    summary = json.loads(files.json.read_text())
    assert summary["per_image"] == [fig6_table(c, qualities=(20, 80)) for c in crops]
    for mean, *rows in zip(summary["mean"], *summary["per_image"], strict=True):
        for key in FIG6_COLUMNS:
            assert mean[key] == pytest.approx(np.mean([row[key] for row in rows]))


def test_jpeg_coefficients_decode_to_the_jpeg_image(crops):
    # Dequantized and inverse-transformed, the recomputed coefficients give libjpeg's decoded
    # image up to the rounding of its integer DCTs (a coefficient one step off moves a block by
    # a few levels); a wrong table order, scale, level shift or padding would be tens of levels
    # off everywhere.
    image = crops[0]
    h, w = image.shape
    for q in (10, 50, 90):
        data = JPEG().encode(image, q)
        with Image.open(io.BytesIO(data)) as im:
            table = np.asarray(im.quantization[0], dtype=np.float64).reshape(8, 8)
            decoded = np.asarray(im, dtype=np.float64)
        blocks = idctn(_jpeg_coefficients(image, data) * table, axes=(2, 3), norm="ortho")
        pixels = blocks.swapaxes(1, 2).reshape(blocks.shape[0] * 8, -1)[:h, :w] + 128.0
        error = np.abs(np.clip(np.rint(pixels), 0, 255) - decoded)
        assert error.mean() < 0.3 and np.mean(error <= 1) > 0.9
