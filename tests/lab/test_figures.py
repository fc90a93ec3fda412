"""The seed's figures: their data against the closed form, and the files they write."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from spikecodec import LIF, SpikeCodecError
from spikecodec.lab.figures import (
    FIG5_SETTINGS,
    SAMPLES,
    fig2,
    fig3,
    fig5_table,
    load_sample,
    proposition1,
    write_all,
)


def _read_csv(path):
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def _closed_form_steps(R, C, theta, T, kmax):
    """``l_k = I_{k+1} - I_k`` with ``I_k = theta/(R*(1 - exp(-T/(k*R*C))))``, written out anew."""
    k = np.arange(1, kmax + 2)
    I_k = theta / (R * (1.0 - np.exp(-T / (k * R * C))))
    return np.diff(I_k)


def test_fig2_matches_closed_form_and_notes(tmp_path):
    theta, C, T = 5.0, 10.0, 100.0
    data = _read_csv(fig2(tmp_path, theta=theta, C=C, T=T, kmax=20).csv)
    k, small_R, large_R, asymptote = data.T
    np.testing.assert_array_equal(k, np.arange(1, 21))
    np.testing.assert_allclose(small_R, _closed_form_steps(1.0, C, theta, T, 20), rtol=1e-9)
    np.testing.assert_allclose(large_R, _closed_form_steps(1e4, C, theta, T, 20), rtol=1e-6)
    np.testing.assert_array_equal(asymptote, C * theta / T)
    # NOTES quote two significant digits: l_1 ~ 0.034, l_10 ~ 0.46 (half a unit of the last
    # quoted digit as tolerance); the steps grow with k towards the asymptote 0.5 from below.
    assert small_R[0] == pytest.approx(0.034, abs=5e-4)
    assert small_R[9] == pytest.approx(0.46, abs=5e-3)
    assert np.all(np.diff(small_R) > 0) and np.all(small_R < 0.5)
    # R = 1e4: 1/(1 - exp(-x)) = 1/x + 1/2 + x/12 + O(x^3) with x = T/(k*tau) gives
    # l_k = C*theta/T - theta*T/(12*R*tau*k*(k+1)), at most 2.1e-8 below 0.5 here; 1e-7 bounds
    # that plus float rounding (~1e-15) with room.
    np.testing.assert_allclose(large_R, 0.5, rtol=0, atol=1e-7)


def test_fig3_counts_are_the_neurons_counts(tmp_path):
    intensities = (6.0, 10.0, 20.0, 50.0)
    data = _read_csv(fig3(tmp_path, intensities=intensities).csv)
    T, counts, widths = data[:, 0], data[:, 1:5], data[:, 5:]
    assert T[0] == 1.0 and T[-1] == 200.0
    lif = LIF(R=1.0, C=10.0, theta=5.0)
    expected = np.array([lif.count(intensities, t) for t in T])
    np.testing.assert_array_equal(counts, expected)
    assert np.all(np.diff(counts, axis=0) >= 0)
    # each input lies in the cell [I_k, I_k + l_k) of its count k (cell 0 drawn as [0, I_1))
    for t, row, width in zip(T[::97], counts[::97], widths[::97], strict=True):
        lower = np.where(row == 0, 0.0, lif.threshold(np.maximum(row, 1).astype(np.int64), t))
        assert np.all((lower <= intensities) & (intensities < lower + width * (1 + 1e-12)))
    assert np.all(widths[-1] < widths[0])


def test_proposition1_every_step_shrinks_as_T_grows(tmp_path):
    files, slopes = proposition1(tmp_path, ks=(1, 2, 5, 10, 20))
    assert all(s < 0 for s in slopes.values())
    # R = 1e4 (tau = 1e5 ms >> T): l_k = (C*theta/T)*(1 - O((T/(k*tau))^2)), slope -1 to ~1e-6.
    for k in (1, 2, 5, 10, 20):
        assert slopes[1e4, k] == pytest.approx(-1.0, abs=1e-4)
    # R = 1 (tau = 10 ms << T): l_k ~ (theta/R)*exp(-T/((k+1)*tau)), faster than 1/T, and the
    # faster the smaller k.
    small_R = [slopes[1.0, k] for k in (1, 2, 5, 10, 20)]
    assert all(s < -1 for s in small_R) and np.all(np.diff(small_R) > 0)
    data = _read_csv(files.csv)
    for R in (1e4, 1.0):
        for k in (1, 2, 5, 10, 20):
            l_k = data[(data[:, 0] == R) & (data[:, 1] == k), 3]
            assert np.all(np.diff(l_k) < 0) and l_k[-1] < 1e-3 * l_k[0] * 1.01


def test_fig5_on_a_ramp_is_a_uniform_quantizer():
    # Every level 21..240 equally often: 22 whole cells [10k + 0.25, 10k + 10.25) of the
    # near-uniform quantizer theta = 500, T = 50 ms, R = 1e3 (tau = 1000 ms >> T).
    ramp = np.tile(np.arange(21, 241, dtype=np.uint8), (16, 1))
    row = fig5_table(ramp)[0]
    assert (row["theta"], row["T"]) == (500.0, 50.0)
    step = 1.0 * 500.0 / 50.0  # C*theta/T
    # MSE ~ step^2/12 away from the dead zone; on integer pixels the rounded midpoint errs by
    # -4..5 in each cell, MSE 8.5 instead of 8.33 (0.086 dB): 0.15 dB tolerance.
    assert row["psnr"] == pytest.approx(10 * np.log10(255.0**2 * 12 / step**2), abs=0.15)
    assert row["psnr"] == pytest.approx(10 * np.log10(255.0**2 / 8.5), abs=1e-9)
    assert row["bpp"] == pytest.approx(np.log2(22), abs=1e-12)  # 22 equiprobable counts


def test_fig5_dead_zone_reconstructs_zero():
    # 3 lies below I_1 of every setting (the smallest, theta = 500 and T = 150 ms, is 3.59):
    # every count is 0, reconstructed as 0.
    flat = np.full((8, 8), 3, dtype=np.uint8)
    for row in fig5_table(flat):
        assert row["bpp"] == 0.0
        assert row["psnr"] == pytest.approx(10 * np.log10(255.0**2 / 9.0))


def test_fig5_table_takes_luma_of_rgb_and_rejects_bad_images():
    rgb = load_sample()
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    assert fig5_table(rgb) == fig5_table(gray)
    assert [(r["theta"], r["T"]) for r in fig5_table(gray)] == list(FIG5_SETTINGS)
    with pytest.raises(SpikeCodecError):
        fig5_table(gray.astype(np.float64))
    with pytest.raises(SpikeCodecError):
        fig5_table(rgb[..., :2])


def test_load_sample():
    for name in (None, *SAMPLES):
        image = load_sample(name)
        assert image.shape == (256, 256, 3) and image.dtype == np.uint8
        assert image.std() > 10  # a real photograph, not a blank
    with pytest.raises(SpikeCodecError, match="kodim23"):
        load_sample("lena")


def test_write_all_writes_every_figure(tmp_path):
    paths = write_all(tmp_path / "figs")
    stems = {p.stem for p in paths}
    assert stems == {
        "fig2_step_lengths",
        "fig3_count_vs_T",
        "fig4_step_lengths_vs_T",
        "prop1_step_decay",
        "fig5_pixel_nq",
        "fig6_entropy_vs_bytes",
    }
    for path in paths:
        assert path.parent == tmp_path / "figs" and path.stat().st_size > 0
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        elif path.suffix == ".json":
            assert json.loads(path.read_text())["names"] == list(SAMPLES)
        else:
            assert path.suffix == ".csv" and _read_csv(path).shape[0] >= 4
