"""``spikecodec bench``: the reports written end to end."""

from __future__ import annotations

import json

from PIL import Image

from spikecodec.cli import bench, build_parser, main
from spikecodec.data import load_sample
from spikecodec.lab.bench import run


def test_bench_command_end_to_end(tmp_path, capsys):
    sample = load_sample()
    for i in range(2):
        Image.fromarray(sample[i * 100 : i * 100 + 72, :80]).save(tmp_path / f"im{i}.png")
    out = tmp_path / "out"
    argv = [str(tmp_path / "im0.png"), str(tmp_path / "im1.png"), "--codecs", "jpeg,jpeg2000",
            "--settings", "jpeg=20,50,90", "--settings", "jpeg2000=0.5,1.0,2.0", "--mode", "RGB",
            "--bpp-window", "0.3", "3", "--workers", "0", "--no-progress",
            "--out", str(out)]  # fmt: skip
    assert main(["bench", *argv]) == 0
    names = {p.name for p in out.iterdir()}
    assert names == {"rows.csv", "jpeg.json", "jpeg2000.json", "bd.md", "bd.json", "rd.png",
                     "speed.md"}  # fmt: skip
    assert len(run.read_rows(out / "rows.csv")) == 12
    doc = json.loads((out / "jpeg2000.json").read_text())
    assert doc["settings"] == [0.5, 1.0, 2.0] and len(doc["results"]["psnr-y"]) == 3
    printed = capsys.readouterr().out
    assert "BD-rate luma PSNR %" in printed and "| jpeg2000 |" in printed
    assert main(["bench", *argv, "--anchor", "webp"]) == 1
    assert "anchor" in capsys.readouterr().err
    assert main(["bench", str(tmp_path / "missing.png"), "--out", str(out)]) == 1


def test_the_parser_wires_the_subcommand():
    args = build_parser().parse_args(
        ["bench", "x.png", "--settings", "jpeg=1", "--settings", "webp=2"]
    )
    assert args.run is bench.bench_command and args.settings == ["jpeg=1", "webp=2"]
    assert args.bpp_window == (0.25, 2.0) and args.anchor == "jpeg" and args.mode == "L"
