"""``spikecodec progressive``: the report written into a folder."""

from __future__ import annotations

from PIL import Image

from spikecodec.cli import main
from spikecodec.data import load_sample


def test_the_command_writes_into_the_folder(tmp_path, capsys):
    src = tmp_path / "in.png"
    Image.fromarray(load_sample("kodim23")[:32, :48]).save(src)
    out = tmp_path / "out"
    assert main(["progressive", str(src), "--out", str(out), "-q", "80", "--cuts", "8"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"progressive_strip.png", "progressive.gif", "progressive_curves.png"} <= names
    assert {"progressive.csv", "progressive.json"} <= names
    assert "progressive.csv" in capsys.readouterr().out
