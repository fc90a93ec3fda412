"""Tests of spikecodec.lab.bench.report: curves, BD tables, plots and the speed table."""

import json

import numpy as np
import pytest
from PIL import Image

from spikecodec.lab.bench import report, run


def _row(codec, setting, image, bpp, quality, enc=0.01, dec=0.005, error=""):
    """A CSV row (strings) with every quality measure equal to ``quality``."""
    values = {k: "" for k in run.FIELDS}
    values.update(set="s", image=image, path=f"/x/{image}.png", sha256="0", mode="L",
                  codec=codec, version="v1", setting=str(setting), error=error)  # fmt: skip
    if not error:
        values.update(height="100", width="200", bytes=str(int(bpp * 2500)), bpp=repr(bpp),
                      encoding_time=repr(enc), decoding_time=repr(dec))  # fmt: skip
        values.update({m: repr(quality) for m in ("psnr", "psnr_y", "ssim", "ms_ssim")})
    return values


@pytest.fixture
def rows():
    """jpeg and webp on two images; webp needs 20 % fewer bits for the same quality."""
    out = []
    for image, shift in (("a", 0.0), ("b", 2.0)):
        for q, rate in zip((10, 30, 50, 70, 90), (0.2, 0.4, 0.8, 1.6, 3.2)):
            quality = float(30 + shift + 3 * np.log2(rate))
            out.append(_row("jpeg", q, image, rate, quality))
            out.append(_row("webp", q, image, 0.8 * rate, quality, enc=0.04, dec=0.01))
    out.append(_row("webp", 50, "c", 0, 0, error="ValueError: boom"))
    return out


def test_curves_average_over_rows_that_did_not_fail(rows):
    curves = report.curves(rows, ["jpeg", "webp"])
    c = curves["webp"]
    assert c["settings"] == [10, 30, 50, 70, 90] and c["images"] == [2] * 5
    assert c["bpp"] == pytest.approx([0.16, 0.32, 0.64, 1.28, 2.56])
    assert c["psnr"][2] == pytest.approx(31 + 3 * np.log2(0.8))


def test_lossless_settings_are_dropped(rows):
    rows[0]["psnr"] = "inf"
    assert report.curves(rows, ["jpeg"])["jpeg"]["dropped"] == [10]


def test_bd_table_finds_the_rate_saving(rows):
    curves = report.curves(rows, ["jpeg", "webp"])
    table, notes = report.bd_table(curves, "jpeg", (0.1, 4.0), report.metrics_for("L"))
    assert notes == [] and set(table) == {"webp"}
    for metric in ("psnr", "ssim", "ms_ssim"):
        assert table["webp"][f"bd_rate_{metric}"] == pytest.approx(-20.0)
    assert table["webp"]["bd_psnr_db"] == pytest.approx(-3 * np.log2(0.8))
    # A window that keeps one point per curve: no BD-rate, and the reason is given.
    table, notes = report.bd_table(curves, "jpeg", (0.7, 0.9), ("psnr",))
    assert table["webp"]["bd_rate_psnr"] is None and "at least 2" in notes[0]


def test_speed_is_pixels_over_time_relative_to_jpeg(rows):
    table = report.speed(rows, ["jpeg", "webp"])
    assert table["jpeg"]["jobs"] == 10 and table["webp"]["jobs"] == 10
    assert table["jpeg"]["encode_mps"] == pytest.approx(0.02 / 0.01)
    assert table["webp"]["encode_ratio"] == pytest.approx(0.25)
    assert table["webp"]["decode_ratio"] == pytest.approx(0.5)
    assert report.speed(rows, ["webp"])["webp"]["encode_ratio"] is None  # no jpeg to compare


def test_write_reports(rows, tmp_path):
    text = report.write_reports(tmp_path, rows, ["jpeg", "webp"], mode="L", window=(0.1, 4.0))
    doc = json.loads((tmp_path / "webp.json").read_text())
    assert doc["name"] == "webp" and doc["settings"] == [10, 30, 50, 70, 90]
    assert doc["description"].startswith("Lossy WebP (VP8) with libwebp through Pillow")
    assert "(v1); mean per setting over 3 image(s), mode L" in doc["description"]
    assert set(doc["results"]) == {
        "bpp",
        "psnr",
        "ssim",
        "ms-ssim",
        "encoding_time",
        "decoding_time",
    }
    bd = json.loads((tmp_path / "bd.json").read_text())
    assert bd["anchor"] == "jpeg" and bd["rate_window_bpp"] == [0.1, 4.0]
    assert bd["bd"]["webp"]["bd_rate_ms_ssim"] == pytest.approx(-20.0)
    assert "| webp | -20.0 | -20.0 | -20.0 |" in text
    assert "1 of 21 jobs failed" in (tmp_path / "bd.md").read_text()
    assert "| webp | 10 | 0.50 | 0.25 | 2.00 | 0.5 |" in (tmp_path / "speed.md").read_text()
    assert Image.open(tmp_path / "rd.png").size[0] > 1000
