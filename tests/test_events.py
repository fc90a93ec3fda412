"""Spike export: address events, dense rasters and .npz files."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

import spikecodec as sc
from spikecodec.events import (
    EVENT_DTYPE,
    TONIC_DTYPE,
    Events,
    TonicEvents,
    _consistent_delays,
    from_events,
    load_events,
    save_events,
    to_events,
)
from spikecodec.format import container
from spikecodec.params import chroma_factor
from spikecodec.tables import TABLES, table_weights
from spikecodec.transform import lapped_dct

QUALITIES = (30, 75, 95)


def _neurons(events: Events):
    """Per neuron (plane, row, col, band): its times in record order, polarity."""
    r = events.records
    key = np.stack([r["plane"], r["block_row"], r["block_col"], r["band"]], axis=1)
    uniq, inverse = np.unique(key, axis=0, return_inverse=True)
    for i in range(len(uniq)):
        at = inverse.ravel() == i
        yield tuple(uniq[i]), r["t"][at], r["polarity"][at]


def _assert_counts(events: Events, counts: list[np.ndarray]) -> None:
    got = events.counts()
    assert len(got) == len(counts)
    for a, b in zip(got, counts, strict=True):
        np.testing.assert_array_equal(a, b)


def _assert_trains(events: Events) -> None:
    """Times in (0, window], sorted, t_i = i*d per neuron with floor(window/d) = N."""
    r = events.records
    assert r.dtype == EVENT_DTYPE
    assert np.all(r["t"] > 0) and np.all(r["t"] <= events.window)
    order = np.lexsort((r["band"], r["block_col"], r["block_row"], r["plane"], r["t"]))
    np.testing.assert_array_equal(order, np.arange(len(r)))
    counts = events.counts()
    for (plane, row, col, band), t, pol in _neurons(events):
        n = len(t)
        d = t[0]
        assert np.floor(events.window / d) == n
        assert np.all(np.diff(t) > 0)
        np.testing.assert_allclose(t, d * np.arange(1, n + 1), rtol=1e-12)
        assert np.all(pol == np.sign(counts[plane][row, col, band]))


@pytest.mark.parametrize("quality", QUALITIES)
def test_events_of_an_image_count_the_codecs_spikes(image, quality):
    events = to_events(image, quality=quality)
    header, counts = sc.spike_counts(image, quality)
    assert events.header == header and events.window == header.T == events.T
    assert events.timing == "input"
    assert len(events) == sum(int(np.abs(k).sum()) for k in counts)
    _assert_counts(events, counts)
    _assert_trains(events)


@pytest.mark.parametrize("quality", QUALITIES)
def test_events_of_a_stream_count_its_spikes(image, quality):
    data = sc.encode(image, quality=quality)
    events = to_events(data)
    header, states = sc.decode_counts(data)
    assert events.header == header and events.window == header.T
    assert events.timing == "midpoint"
    _assert_counts(events, [st.counts() for st in states])
    _assert_trains(events)
    # the same neurons as from the image: addresses and polarities agree, phases may not
    from_image = to_events(image, quality=quality)
    for field in ("plane", "block_row", "block_col", "band", "polarity"):
        a = np.sort(from_image.records, order=["plane", "block_row", "block_col", "band", "t"])
        b = np.sort(events.records, order=["plane", "block_row", "block_col", "band", "t"])
        np.testing.assert_array_equal(a[field], b[field])


def test_image_times_are_the_neurons_delays(gray):
    """The first spike of each neuron comes at d = delay(|x|/theta_f) of the unit neuron."""
    events = to_events(gray, quality=75)
    h = events.header
    lif = sc.LIF(h.R, h.C, theta=1.0, bias=h.bias * h.C / h.T)
    x = lapped_dct(gray) / events.theta[0]
    for (_, row, col, band), t, _ in _neurons(events):
        np.testing.assert_allclose(t[0], lif.delay(abs(x[row, col, band])), rtol=1e-12)


def test_a_stream_decoded_until_half_the_window(rgb):
    data = sc.encode(rgb, quality=90)
    events = to_events(data, until=0.5)
    header, states = sc.decode_counts(data, until=0.5)
    assert all(np.all(st.level == 1) for st in states)
    assert events.window == header.T / 2
    _assert_counts(events, [st.counts() for st in states])
    _assert_trains(events)
    full = sc.spike_counts(rgb, 90)[1]
    _assert_counts(events, [np.sign(k) * (np.abs(k) >> 1) for k in full])


def test_a_stream_cut_inside_a_slice_uses_the_common_instant(rgb):
    data = sc.encode(rgb, quality=90)
    cut = data[: 2 * len(data) // 3]
    events = to_events(cut)
    header, states = sc.decode_counts(cut)
    top = max(int(st.level.max()) for st in states)
    assert any(int(st.level.min()) < top for st in states)  # the cut refines some neurons
    assert events.window == header.T / 2**top
    full = sc.spike_counts(rgb, 90)[1]
    _assert_counts(events, [np.sign(k) * (np.abs(k) >> top) for k in full])
    _assert_trains(events)


def test_a_stream_cut_after_its_header_has_no_spikes(gray):
    data = sc.encode(gray, quality=75)
    events = to_events(data[: container.HEADER_SIZE])
    assert len(events) == 0
    assert all(not np.any(k) for k in events.counts())


def test_streams_are_recognized_by_magic(tmp_path, gray):
    data = sc.encode(gray, quality=75)
    path = tmp_path / "stream.png"  # misleading extension
    path.write_bytes(data)
    for source in (data, bytearray(data), path, str(path), io.BytesIO(data)):
        assert to_events(source).timing == "midpoint"
    png = tmp_path / "image.spk"
    Image.fromarray(gray).save(png, format="PNG")
    for source in (png, png.read_bytes(), io.BytesIO(png.read_bytes()), Image.open(png)):
        assert to_events(source, quality=75).timing == "input"


def test_options_must_fit_the_source(gray):
    data = sc.encode(gray, quality=75)
    with pytest.raises(ValueError, match="quality"):
        to_events(data, quality=50)
    with pytest.raises(ValueError, match="until"):
        to_events(gray, until=0.5)
    with pytest.raises(ValueError, match="time_steps"):
        to_events(gray, dense=True)
    with pytest.raises(ValueError, match="time_steps"):
        to_events(gray, time_steps=4)


def test_the_number_of_events_is_limited(gray):
    with pytest.raises(sc.LimitError, match="max_events"):
        to_events(gray, quality=75, max_events=10)


@pytest.mark.parametrize("time_steps", [1, 7, 64])
def test_dense_rasters_sum_to_the_counts(image, time_steps):
    events = to_events(image, quality=75, dense=True, time_steps=time_steps)
    counts = events.counts()
    assert len(events.dense) == len(counts)
    for raster, k, (by, bx) in zip(events.dense, counts, events.blocks, strict=True):
        assert raster.dtype == np.uint8
        assert raster.shape == (time_steps, 2, by, bx, 64)
        total = raster.sum(axis=0, dtype=np.int64)
        np.testing.assert_array_equal(total[0] - total[1], k)
        assert not np.any(total[0] & total[1])  # a neuron pair: ON or OFF, never both


def test_dense_bins_are_right_closed(gray):
    """Step s holds s*dt < t <= (s+1)*dt: a spike at a step's end belongs to that step."""
    events = to_events(gray, quality=75)
    window, steps = events.window, 4
    records = np.zeros(4, EVENT_DTYPE)
    records["t"] = [window / 4, np.nextafter(window / 4, np.inf), window / 2, window]
    records["polarity"] = [1, 1, -1, 1]
    records["band"] = [0, 1, 2, 3]
    crafted = replace(events, records=records)
    raster = crafted.to_dense(steps)[0]
    assert raster[0, 0, 0, 0, 0] == 1  # t = dt: the end of step 0
    assert raster[1, 0, 0, 0, 1] == 1  # just after dt: step 1
    assert raster[1, 1, 0, 0, 2] == 1  # t = 2 dt, OFF neuron: step 1
    assert raster[3, 0, 0, 0, 3] == 1  # t = window: the last step
    assert raster.sum() == 4


def test_consistent_delays_fix_rounding_at_count_boundaries():
    window = 100.0
    d = np.array([window / 3, 25.0, 1.0, np.inf, np.nextafter(20.0, 0.0)])
    n = np.array([3, 5, 3, 1, 4])
    fixed = _consistent_delays(d, n, window)
    np.testing.assert_array_equal(np.floor(window / fixed), n)
    assert fixed[0] == d[0]  # already consistent: unchanged
    assert fixed[1] == 20.0  # too long for 5 spikes: the longest delay that gives 5
    assert fixed[2] > 25.0 and fixed[2] == pytest.approx(25.0)  # too short: just past w/4
    assert fixed[3] == window
    assert fixed[4] > 20.0 and fixed[4] == pytest.approx(20.0)


def test_dense_limits(gray):
    events = to_events(gray, quality=75)
    with pytest.raises(sc.LimitError, match="bytes"):
        events.to_dense(1000, max_bytes=1000)
    with pytest.raises(ValueError, match="positive integer"):
        events.to_dense(0)
    with pytest.raises(ValueError, match="positive integer"):
        events.to_dense(2.5)
    fine = to_events(gray, quality=100)  # counts up to ~2000 spikes in T
    assert max(int(np.abs(k).max()) for k in fine.counts()) > 255
    with pytest.raises(sc.LimitError, match="more time steps"):
        fine.to_dense(1)
    assert fine.to_dense(16)[0].max() <= 255


@pytest.mark.parametrize(("subsampling", "chroma_blocks"), [("4:2:0", (3, 4)), ("4:4:4", (5, 7))])
def test_metadata(rgb, subsampling, chroma_blocks):
    events = to_events(rgb, quality=75, subsampling=subsampling)
    assert events.shape == rgb.shape and events.mode == "RGB"
    assert events.blocks == [(5, 7), chroma_blocks, chroma_blocks]
    assert events.theta.shape == (3, 64)
    h = events.header
    assert h.subsampling == subsampling
    luma, chroma = table_weights(TABLES[h.table], False), table_weights(TABLES[h.table], True)
    np.testing.assert_allclose(events.theta[0], h.theta * luma)
    for plane in (1, 2):
        factor = chroma_factor(h, plane)
        np.testing.assert_allclose(events.theta[plane], h.theta * factor * chroma)
    assert (events.R, events.C, events.T) == (events.header.R, events.header.C, events.header.T)


@pytest.mark.parametrize("dense", [False, True])
def test_save_load_round_trip(tmp_path, image, dense):
    events = to_events(image, quality=75, dense=dense, time_steps=8 if dense else None)
    path = tmp_path / "events.npz"
    save_events(events, path)
    back = load_events(path)
    np.testing.assert_array_equal(back.records, events.records)
    assert back.records.dtype == EVENT_DTYPE
    assert back.header == events.header and back.window == events.window
    assert back.timing == events.timing
    np.testing.assert_array_equal(back.theta, events.theta)
    if dense:
        for a, b in zip(back.dense, events.dense, strict=True):
            np.testing.assert_array_equal(a, b)
    else:
        assert back.dense is None
    with np.load(path, allow_pickle=False) as npz:  # readable without spikecodec
        assert {"records", "theta", "meta"} <= set(npz.files)
    buf = io.BytesIO()
    save_events(events, buf)
    buf.seek(0)
    np.testing.assert_array_equal(load_events(buf).records, events.records)


def test_save_refuses_to_overwrite_unless_asked(tmp_path, gray):
    events = to_events(gray, quality=75)
    path = tmp_path / "events.npz"
    path.write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        save_events(events, path, overwrite=False)
    assert path.read_bytes() == b"keep"
    save_events(events, path)
    assert len(load_events(path)) == len(events)


def test_load_refuses_other_files(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.arange(3))
    with pytest.raises(sc.SpikeCodecError):
        load_events(path)
    path.write_bytes(b"not a zip")
    with pytest.raises(sc.SpikeCodecError):
        load_events(path)


# -- Tonic's layout -----------------------------------------------------------------------


def _tonic_address(header, plane, row, col, band):
    """(x, y) of a coefficient in Tonic's layout, from the module's formula."""
    from spikecodec.params import block_grid, plane_shapes
    from spikecodec.tables import ZIGZAG

    widths = [8 * block_grid(s)[1] for s in plane_shapes(header)]
    v, u = divmod(int(ZIGZAG[band]), 8)
    return sum(widths[:plane]) + 8 * col + u, 8 * row + v


@pytest.mark.parametrize("subsampling", ["4:2:0", "4:4:4"])
def test_tonic_layout_addresses_every_spike(rgb, subsampling):
    events = to_events(rgb, quality=75, subsampling=subsampling)
    tonic_events = to_events(rgb, quality=75, subsampling=subsampling, format="tonic")
    ev = tonic_events.events
    assert ev.dtype == TONIC_DTYPE and len(ev) == len(events)
    grids = events.blocks
    assert tonic_events.sensor_size == (8 * sum(bx for _, bx in grids), 8 * grids[0][0], 2)
    r = events.records
    for i in np.random.default_rng(0).choice(len(r), 200, replace=False):
        x, y = _tonic_address(
            events.header, r["plane"][i], r["block_row"][i], r["block_col"][i], r["band"][i]
        )
        assert (ev["x"][i], ev["y"][i]) == (x, y)
        assert ev["p"][i] == (r["polarity"][i] > 0)
        assert ev["t"][i] == round(r["t"][i] * 1000)
    assert np.all(np.diff(ev["t"]) >= 0)


def test_tonic_to_frame_sums_are_the_spike_counts(rgb):
    tonic = pytest.importorskip("tonic", reason="the snn extra is not installed")
    events = to_events(rgb, quality=75, subsampling="4:2:0")
    te = events.to_tonic()
    t_end = round(events.window * 1000)
    to_frame = tonic.transforms.ToFrame(
        sensor_size=te.sensor_size,
        time_window=t_end / 4,
        start_time=0,
        end_time=t_end + 1,
        include_incomplete=True,
    )
    frames = to_frame(te.events.copy())
    assert frames.shape[1:] == (2, te.sensor_size[1], te.sensor_size[0])
    total = frames.sum(axis=0)  # (p, y, x)
    assert total.sum() == len(events)
    for c, k in enumerate(events.counts()):
        for (row, col, band), n in np.ndenumerate(k):
            if n:
                x, y = _tonic_address(events.header, c, row, col, band)
                assert total[int(n > 0), y, x] == abs(n)


def test_tonic_events_save_and_load(tmp_path, gray):
    te = to_events(gray, quality=60, format="tonic")
    path = tmp_path / "tonic.npz"
    save_events(te, path)
    back = load_events(path)
    assert isinstance(back, TonicEvents)
    np.testing.assert_array_equal(back.events, te.events)
    assert back.sensor_size == te.sensor_size and back.header == te.header
    with np.load(path, allow_pickle=False) as npz:
        assert {"events", "sensor_size", "meta"} <= set(npz.files)


def test_format_is_checked(gray):
    with pytest.raises(sc.ParameterError, match="format"):
        to_events(gray, format="aedat")
    with pytest.raises(sc.ParameterError, match="dense"):
        to_events(gray, format="tonic", dense=True, time_steps=4)


# -- and back -----------------------------------------------------------------------------


@pytest.mark.parametrize("quality", QUALITIES)
def test_from_events_of_a_stream_is_its_decode(image, quality):
    stream = sc.encode(image, quality=quality)
    events = to_events(stream)
    slices = sc.decode_counts(stream)[0].slices
    for layout in (events, events.to_tonic()):
        np.testing.assert_array_equal(from_events(layout), sc.decode(stream))
    for j in range(slices):
        want = sc.decode(stream, until=2.0**-j)
        np.testing.assert_array_equal(from_events(events, until=2.0**-j), want)
        np.testing.assert_array_equal(
            from_events(events, until_ms=events.T / 2**j * 1.3 if j else events.T), want
        )


def test_from_events_of_an_image_is_the_decode_of_its_stream(image):
    stream = sc.encode(image, quality=75)
    events = to_events(image, quality=75)
    for j in range(4):
        np.testing.assert_array_equal(
            from_events(events, until=2.0**-j), sc.decode(stream, until=2.0**-j)
        )


def test_from_events_of_a_cut_stream_is_its_common_instant(rgb):
    stream = sc.encode(rgb, quality=75)
    cut = sc.truncate(stream, len(stream) // 3)
    events = to_events(cut)
    level = round(np.log2(events.T / events.window))
    np.testing.assert_array_equal(from_events(events), sc.decode(stream, until=2.0**-level))


def test_from_events_takes_bare_arrays_with_a_header(rgb):
    stream = sc.encode(rgb, quality=75)
    events = to_events(stream)
    te = events.to_tonic()
    want = sc.decode(stream)
    np.testing.assert_array_equal(from_events(events.records, events.header), want)
    np.testing.assert_array_equal(from_events(te.events, stream), want)
    with pytest.raises(sc.ParameterError, match="header"):
        from_events(events.records)
    with pytest.raises(sc.ParameterError, match="fields"):
        from_events(np.zeros(3), events.header)


def test_from_events_refuses_bad_events(gray):
    events = to_events(gray, quality=75)
    r = events.records.copy()
    r["block_row"][0] = 10_000
    with pytest.raises(sc.ParameterError, match="outside"):
        from_events(r, events.header)
    r = events.records.copy()
    r["polarity"][0] = 0
    with pytest.raises(sc.ParameterError, match="polarit"):
        from_events(r, events.header)
    te = events.to_tonic().events.copy()
    te["x"][0] = -1
    with pytest.raises(sc.ParameterError, match="sensor"):
        from_events(te, events.header)
    with pytest.raises(sc.ParameterError, match="until"):
        from_events(events, until=2.0)
    with pytest.raises(sc.ParameterError, match="not both"):
        from_events(events, until=0.5, until_ms=10.0)
    with pytest.raises(sc.ParameterError, match="before"):
        from_events(events, until_ms=events.T / 2**40)
