"""``spikecodec encode``: pipes, many files and folders, rate targets, and the output path checked
before any work."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import spikecodec as sc
from spikecodec.cli import main
from spikecodec.data import load_sample


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    return load_sample("kodim23")[:40, :56]


def png_bytes(image) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def test_pipes_give_the_bytes_files_give(tmp_path, rgb):
    src, spk = tmp_path / "in.png", tmp_path / "x.spk"
    src.write_bytes(png_bytes(rgb))
    assert main(["encode", str(src), str(spk), "-q", "60"]) == 0
    piped = subprocess.run(
        [sys.executable, "-m", "spikecodec.cli", "encode", "-", "-", "-q", "60"],
        input=src.read_bytes(),
        capture_output=True,
        check=True,
    )
    assert piped.stdout == spk.read_bytes()
    assert b"bytes" in piped.stderr  # the report goes to standard error
    decoded = subprocess.run(
        [sys.executable, "-m", "spikecodec.cli", "decode", "-", "-", "--format", "png"],
        input=piped.stdout,
        capture_output=True,
        check=True,
    )
    np.testing.assert_array_equal(
        np.asarray(Image.open(io.BytesIO(decoded.stdout))), sc.decode(piped.stdout)
    )


def test_standard_input_in_process(tmp_path, rgb, monkeypatch, capsysbinary):
    monkeypatch.setattr(sys, "stdin", type("In", (), {"buffer": io.BytesIO(png_bytes(rgb))})())
    assert main(["encode", "-", "-", "--quiet"]) == 0
    captured = capsysbinary.readouterr()
    assert captured.out == sc.encode(rgb) and captured.err == b""


@pytest.mark.parametrize("bpp", [0.3, 1.0, 2.0])
def test_a_bit_rate_target_lands_within_one_percent_below(tmp_path, rgb, bpp):
    src, spk = tmp_path / "in.png", tmp_path / "x.spk"
    src.write_bytes(png_bytes(rgb))
    assert main(["encode", str(src), str(spk), "--bpp", str(bpp), "--quiet"]) == 0
    achieved = 8 * len(spk.read_bytes()) / (40 * 56)
    assert bpp * 0.99 <= achieved <= bpp


def test_bytes_and_psnr_targets(tmp_path, rgb):
    src, spk = tmp_path / "in.png", tmp_path / "x.spk"
    src.write_bytes(png_bytes(rgb))
    assert main(["encode", str(src), str(spk), "--bytes", "700", "--quiet"]) == 0
    assert len(spk.read_bytes()) == 700
    assert main(["encode", str(src), str(spk), "--psnr", "35", "--force", "--quiet"]) == 0
    assert sc.metrics.psnr(rgb, sc.decode(spk.read_bytes())) >= 35


def test_a_folder_with_a_broken_file(tmp_path, rgb, capsys):
    folder, out = tmp_path / "in", tmp_path / "out"
    (folder / "sub").mkdir(parents=True)
    out.mkdir()
    for name in ("a.png", "b.png", "sub/c.png"):
        (folder / name).write_bytes(png_bytes(rgb))
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (folder / "notes.txt").write_text("not an image")
    assert main(["encode", str(folder), "--out", str(out), "-j", "2"]) == 1  # one failed
    err = capsys.readouterr().err
    assert "broken.png" in err and "2 encoded" in err and "1 failed" in err
    assert sorted(p.name for p in out.iterdir()) == ["a.spk", "b.spk"]
    assert main(["encode", str(folder), "--out", str(out), "-r", "--force", "--quiet"]) == 1
    assert (out / "sub" / "c.spk").read_bytes() == sc.encode(rgb)
    lines = capsys.readouterr().err.splitlines()
    assert [line for line in lines if "broken.png" in line] == lines[:1]  # failures when quiet


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("missing/x.spk", "no such folder"),
        (".", "is a folder"),
        ("x.jpg", "the output of this command is a .spk file"),
    ],
)
def test_the_output_path_is_checked_before_any_work(
    tmp_path, rgb, output, message, capsys, monkeypatch
):
    src = tmp_path / "in.png"
    src.write_bytes(png_bytes(rgb))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sc, "encode", lambda *a, **k: pytest.fail("encoded before checking"))
    assert main(["encode", str(src), output]) == 1
    assert message in capsys.readouterr().err


def test_lossless_through_the_command_gives_the_png_back(tmp_path, rgb, capsys):
    src, spk, png = tmp_path / "in.png", tmp_path / "x.spk", tmp_path / "out.png"
    src.write_bytes(png_bytes(rgb))
    assert main(["encode", str(src), str(spk), "--lossless", "--quiet"]) == 0
    assert spk.read_bytes() == sc.encode(rgb, lossless=True)
    assert main(["decode", str(spk), str(png), "--quiet"]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(png)), rgb)
    assert main(["encode", str(src), str(spk), "--lossless", "--bytes", "900", "--force"]) == 0
    assert spk.read_bytes() == sc.truncate(sc.encode(rgb, lossless=True), 900)
    assert main(["encode", str(src), str(spk), "--lossless", "--table", "jpeg", "--force"]) != 0
    assert "do not give table" in capsys.readouterr().err


def test_conflicting_options_are_usage_errors(tmp_path, capsys):
    for argv in (
        ["-q", "10", "--theta", "800"],
        ["--bpp", "1", "--bytes", "900"],
        ["-q", "90", "--lossless"],
    ):
        with pytest.raises(SystemExit) as info:
            main(["encode", "a.png", "b.spk", *argv])
        assert info.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_an_existing_output_is_kept_without_force(tmp_path, rgb, capsys):
    src, spk = tmp_path / "in.png", tmp_path / "x.spk"
    src.write_bytes(png_bytes(rgb))
    spk.write_bytes(b"keep")
    assert main(["encode", str(src), str(spk)]) == 3
    assert spk.read_bytes() == b"keep"
    assert main(["encode", str(src), str(spk), "--force", "--verbose"]) == 0
    assert "time slices" in capsys.readouterr().err


def test_folder_output_missing(tmp_path, capsys):
    assert main(["encode", str(tmp_path), "--out", str(tmp_path / "nowhere")]) == 1
    assert "no such folder" in capsys.readouterr().err


def test_decode_writes_any_format_pillow_writes(tmp_path, rgb, capsys):
    spk = tmp_path / "x.spk"
    spk.write_bytes(sc.encode(rgb, quality=90))
    for name in ("o.bmp", "o.tiff", "o.webp", "o.jpg"):
        assert main(["decode", str(spk), str(tmp_path / name)]) == 0
        assert Image.open(tmp_path / name).size == (56, 40)
    assert main(["decode", str(spk), str(tmp_path / "lo.jpg"), "--quality", "20"]) == 0
    assert (tmp_path / "lo.jpg").stat().st_size < (tmp_path / "o.jpg").stat().st_size
    assert main(["decode", str(spk), "-"]) == 1
    assert "--format" in capsys.readouterr().err
    assert Path(tmp_path / "o.bmp").exists()
