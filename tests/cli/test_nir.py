"""``spikecodec nir``: the encoder of an image as a NIR graph file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from spikecodec.cli import build_parser, main
from spikecodec.nirgraph import to_nir

nir = pytest.importorskip("nir", reason="the nir extra is not installed")


def _run(argv):
    args = build_parser().parse_args(argv)
    args.run(args)


@pytest.mark.parametrize("threshold", ["band", "unit"])
def test_cli_writes_the_graph_nir_reads(tmp_path, rgb, threshold, capsys):
    png = tmp_path / "in.png"
    Image.fromarray(rgb[:16, :24]).save(png)
    out = tmp_path / "enc.nir"
    _run(["nir", str(png), "--out", str(out), "-q", "60", "--threshold", threshold])
    back = nir.read(out)
    want = to_nir(rgb[:16, :24], quality=60, threshold=threshold)
    assert set(back.nodes) == set(want.nodes) and sorted(back.edges) == sorted(want.edges)
    for name in ("colour", "dct"):
        np.testing.assert_array_equal(back.nodes[name].weight, want.nodes[name].weight)
        np.testing.assert_array_equal(back.nodes[name].bias, want.nodes[name].bias)
    np.testing.assert_array_equal(
        back.nodes["neurons"].v_threshold, want.nodes["neurons"].v_threshold
    )
    assert json.loads(back.metadata["spikecodec"]) == json.loads(want.metadata["spikecodec"])
    assert "LIF neurons" in capsys.readouterr().err


def test_cli_refuses_before_any_work(tmp_path, gray, capsys):
    png = tmp_path / "in.png"
    Image.fromarray(gray).save(png)
    assert main(["nir", str(png), "--out", str(tmp_path / "enc.npz")]) == 1
    assert ".nir" in capsys.readouterr().err
    out = tmp_path / "enc.nir"
    out.write_bytes(b"keep")
    assert main(["nir", str(png), "--out", str(out)]) == 3
    assert out.read_bytes() == b"keep"
    big = tmp_path / "big.png"
    Image.fromarray(np.zeros((512, 512), np.uint8)).save(big)
    assert main(["nir", str(big), "--out", str(tmp_path / "big.nir")]) == 1
    assert "max_weights" in capsys.readouterr().err
    assert not (tmp_path / "big.nir").exists()
