"""``spikecodec spikes``: the neurons' spikes of an image or stream into an .npz file."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import spikecodec as sc
from spikecodec.cli import build_parser
from spikecodec.events import load_events


def _run(argv):
    """The command's function, as ``spikecodec`` calls it (errors raised, not turned into exit
    codes)."""
    args = build_parser().parse_args(argv)
    args.run(args)


def _assert_counts(events, counts: list[np.ndarray]) -> None:
    got = events.counts()
    assert len(got) == len(counts)
    for a, b in zip(got, counts, strict=True):
        np.testing.assert_array_equal(a, b)


def test_cli_exports_an_image_and_a_stream(tmp_path, rgb, capsys):
    png = tmp_path / "in.png"
    Image.fromarray(rgb).save(png)
    out = tmp_path / "image.npz"
    _run(["spikes", str(png), "--out", str(out), "-q", "60"])
    events = load_events(out)
    _assert_counts(events, sc.spike_counts(rgb, 60)[1])
    report = capsys.readouterr()
    assert "spikes" in report.err and report.out == ""  # reports go to standard error
    _run(["spikes", str(png), "--out", str(out), "-q", "60", "--force", "--quiet"])
    assert capsys.readouterr() == ("", "")

    spk = tmp_path / "in.bin"  # a stream, recognized by its magic bytes
    spk.write_bytes(sc.encode(rgb, quality=60))
    out = tmp_path / "stream.npz"
    _run(["spikes", str(spk), "--out", str(out), "--dense", "--time-steps", "5"])
    events = load_events(out)
    assert events.timing == "midpoint" and events.dense[0].shape[0] == 5
    _assert_counts(events, sc.spike_counts(rgb, 60)[1])


def test_cli_refuses_to_overwrite_without_force(tmp_path, gray):
    png = tmp_path / "in.png"
    Image.fromarray(gray).save(png)
    out = tmp_path / "events.npz"
    out.write_bytes(b"keep")
    with pytest.raises(FileExistsError, match="--force"):
        _run(["spikes", str(png), "--out", str(out)])
    assert out.read_bytes() == b"keep"
    _run(["spikes", str(png), "--out", str(out), "--force"])
    assert len(load_events(out)) > 0


def test_cli_option_errors(tmp_path, gray):
    spk = tmp_path / "in.spk"
    spk.write_bytes(sc.encode(gray, quality=60))
    png = tmp_path / "in.png"
    Image.fromarray(gray).save(png)
    out = str(tmp_path / "e.npz")
    with pytest.raises(ValueError, match="-q"):
        _run(["spikes", str(spk), "--out", out, "-q", "50"])
    with pytest.raises(ValueError, match="--until"):
        _run(["spikes", str(png), "--out", out, "--until", "0.5"])
    with pytest.raises(ValueError, match="--dense"):
        _run(["spikes", str(png), "--out", out, "--time-steps", "4"])
    _run(["spikes", str(spk), "--out", out, "--until", "0.5"])
    assert load_events(out).window == 50.0


def test_cli_exports_tonic_events(tmp_path, rgb):
    png = tmp_path / "in.png"
    Image.fromarray(rgb).save(png)
    out = tmp_path / "tonic.npz"
    _run(["spikes", str(png), "--out", str(out), "-q", "60", "--format", "tonic"])
    back = load_events(out)
    want = sc.to_events(rgb, quality=60, format="tonic")
    np.testing.assert_array_equal(back.events, want.events)
    assert back.sensor_size == want.sensor_size
    with pytest.raises(sc.ParameterError, match="dense"):
        _run(["spikes", str(png), "--out", str(tmp_path / "d.npz"), "--format", "tonic",
              "--dense", "--time-steps", "3"])  # fmt: skip
