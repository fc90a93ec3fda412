"""The progressive-decoding report: strip, animation, curves and CSV."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image, ImageFile

import spikecodec as sc
from spikecodec.data import load_sample
from spikecodec.format import container
from spikecodec.lab.bench.codecs import load_truncated
from spikecodec.lab.progressive import byte_cuts, progressive_report
from spikecodec.metrics import psnr


@pytest.fixture(scope="module")
def sample():
    return load_sample("kodim23")[:64, :96]


@pytest.fixture(scope="module")
def report(sample, tmp_path_factory):
    return progressive_report(sample, tmp_path_factory.mktemp("progressive"), cuts=16)


def test_the_report_writes_its_files(report):
    files = report["files"]
    for key in ("strip", "gif", "plot", "csv"):
        assert files[key].is_file() and files[key].stat().st_size > 0, key
    with Image.open(files["strip"]) as im:
        assert im.format == "PNG" and im.width > 96
    with Image.open(files["plot"]) as im:
        assert im.format == "PNG"


def test_the_gif_has_one_frame_per_slice(report):
    with Image.open(report["files"]["gif"]) as im:
        assert im.n_frames == len(report["slices"])


def test_one_slice_per_bit_plane(sample, report):
    data = sc.encode(sample, quality=95)
    assert len(report["slices"]) == container.read_header(data).slices
    assert report["bytes"] == len(data)
    assert report["slices"][-1]["bytes"] == len(data)


def test_psnr_at_the_slice_instants_never_falls(report):
    values = [p["psnr"] for p in report["slices"]]
    assert np.all(np.diff(values) >= -1e-9)
    times = [p["t_ms"] for p in report["slices"]]
    assert np.all(np.diff(times) > 0)


def test_the_last_cut_is_the_full_decode(sample, report):
    last = report["spikecodec_cuts"][-1]
    assert last["bytes"] == report["bytes"]
    assert last["psnr"] == pytest.approx(report["full"]["psnr"])
    assert report["full"]["psnr"] == pytest.approx(psnr(sample, sc.decode(sc.encode(sample, 95))))
    assert report["slices"][-1]["psnr"] == pytest.approx(report["full"]["psnr"])


def test_the_csv_holds_every_point(report):
    with report["files"]["csv"].open() as f:
        rows = list(csv.DictReader(f))
    series = {row["series"] for row in rows}
    assert {"spikecodec_slice", "spikecodec_cut", "jpeg_progressive_cut"} <= series
    expected = sum(
        len(report[k]) for k in ("slices", "spikecodec_cuts", "jpeg_progressive", "jpeg2000")
    )
    assert len(rows) == expected


def test_reference_curves_are_sane(report):
    assert report["jpeg2000_method"] in ("layers", "truncated")
    jpeg = report["jpeg_progressive"]
    assert jpeg and all(p["bytes"] <= report["jpeg_bytes"] for p in jpeg)
    for p in report["jpeg2000"]:
        assert p["bytes"] <= p["cut"]


def test_load_truncated_restores_the_flag():
    before = ImageFile.LOAD_TRUNCATED_IMAGES
    with pytest.raises(RuntimeError), load_truncated():
        assert ImageFile.LOAD_TRUNCATED_IMAGES is True
        raise RuntimeError
    assert ImageFile.LOAD_TRUNCATED_IMAGES == before


def test_byte_cuts_span_header_to_file():
    cuts = byte_cuts(64, 10_000, 40)
    assert cuts[0] == 64 and cuts[-1] == 10_000
    assert np.all(np.diff(cuts) > 0)
