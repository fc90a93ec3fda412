"""The ``spikecodec`` command, run in-process through :func:`spikecodec.cli.main`.

Exit codes (cli docstring): 0 success, 1 bad input or stream, 2 usage, 3 the output exists.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import spikecodec as sc
from spikecodec.cli import main
from spikecodec.data import load_sample
from spikecodec.format import container
from spikecodec.params import REVERSIBLE_COLOURS


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    return load_sample("kodim05")[:48, :40]


@pytest.fixture
def png(tmp_path, rgb) -> Path:
    path = tmp_path / "in.png"
    Image.fromarray(rgb).save(path)
    return path


def listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def assert_failed_cleanly(code, capsys, folder: Path, before: set[str], expected: int = 1):
    """Exit code, a one-line message on stderr, and no new file (output or temporary)."""
    assert code == expected
    err = capsys.readouterr().err
    assert err.startswith("spikecodec: ")
    assert "Traceback" not in err
    assert listing(folder) == before
    return err


# --------------------------------------------------------------------------------------------
# encode / decode


def test_encode_then_decode_round_trip(tmp_path, png, rgb, capsys):
    spk, out = tmp_path / "x.spk", tmp_path / "out.png"
    assert main(["encode", str(png), str(spk)]) == 0
    data = spk.read_bytes()
    # The default quality is 75: the same bytes as the library's.
    assert data == sc.encode(rgb, quality=75)
    stdout = capsys.readouterr().err  # reports go to standard error
    assert f"{len(data)} bytes" in stdout
    assert f"{8 * len(data) / (48 * 40):.4f} bpp" in stdout
    assert main(["decode", str(spk), str(out)]) == 0
    with Image.open(out) as im:
        assert im.format == "PNG"
        assert im.size == (40, 48)
        assert im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im), sc.decode(data))
    assert listing(tmp_path) == {"in.png", "x.spk", "out.png"}


def test_grayscale_round_trip_and_options(tmp_path, rgb):
    src, spk, out = tmp_path / "g.png", tmp_path / "g.spk", tmp_path / "g.png.png"
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    Image.fromarray(gray).save(src)
    assert main(["encode", str(src), str(spk), "-q", "40", "--table", "jpeg"]) == 0
    data = spk.read_bytes()
    assert data == sc.encode(gray, quality=40, table="jpeg")
    assert container.unpack(data).header.table == 1
    assert main(["decode", str(spk), str(out)]) == 0
    with Image.open(out) as im:
        assert (im.mode, im.size) == ("L", (40, 48))


def test_encode_with_theta(tmp_path, png, rgb):
    spk = tmp_path / "t.spk"
    assert main(["encode", str(png), str(spk), "--theta", "900", "--bias", "0.1"]) == 0
    data = spk.read_bytes()
    assert data == sc.encode(rgb, theta=900.0, bias=0.1)
    assert container.unpack(data).header.theta == 900.0


def test_decode_to_other_formats_follows_the_extension(tmp_path, png):
    spk = tmp_path / "x.spk"
    assert main(["encode", str(png), str(spk)]) == 0
    for name, fmt in [("o.bmp", "BMP"), ("o.tif", "TIFF"), ("o.jpg", "JPEG")]:
        assert main(["decode", str(spk), str(tmp_path / name)]) == 0
        with Image.open(tmp_path / name) as im:
            assert (im.format, im.size) == (fmt, (40, 48))


# --------------------------------------------------------------------------------------------
# info


def slice_lines(out: str) -> list[list[str]]:
    """The fields of info's lines about time slices: ``SLICE at <offset> <n> bytes [of <m>]
    until t = <ms> ms``."""
    return [line.split() for line in out.splitlines() if line.strip().startswith("SLICE")]


def test_info_prints_size_and_slices(tmp_path, png, capsys):
    spk = tmp_path / "x.spk"
    assert main(["encode", str(png), str(spk), "-q", "90"]) == 0
    capsys.readouterr()
    data = spk.read_bytes()
    stream_ = container.unpack(data)
    header, chunks = stream_.header, stream_.slices
    assert main(["info", str(spk)]) == 0
    out = capsys.readouterr().out
    assert f"({len(data)} bytes)" in out
    assert "40x48 RGB" in out
    assert f"time slices {header.slices} ({header.slices} complete)" in out
    lines = slice_lines(out)
    assert len(lines) == header.slices
    for s, (fields, chunk) in enumerate(zip(lines, chunks)):
        assert int(fields[3]) == len(chunk)
        assert float(fields[-2]) == pytest.approx(100.0 / 2 ** (header.slices - 1 - s), abs=1e-4)
    assert float(lines[-1][-2]) == pytest.approx(100.0)
    assert "truncated" not in out and " of " not in out.split("chunks")[1]


def test_info_says_a_stream_is_lossless(tmp_path, png, capsys):
    spk = tmp_path / "x.spk"
    assert main(["encode", str(png), str(spk), "--lossless", "--verbose"]) == 0
    assert "lossless" in capsys.readouterr().err
    assert main(["info", str(spk)]) == 0
    out = capsys.readouterr().out
    assert "samples     8 bits, lossless" in out and "40x48 RGB 4:4:4" in out
    colour = REVERSIBLE_COLOURS[container.read_header(spk.read_bytes()).colour]
    assert f"(5/3 wavelet, {colour}; step 1 at T)" in out
    assert "table" not in out
    assert out.split("chunks")[1].split()[6] == "SAMPLES"  # right after the HEADER


def test_info_says_a_lossy_stream_has_16_bit_samples(tmp_path, capsys):
    src, spk = tmp_path / "deep.png", tmp_path / "deep.spk"
    Image.fromarray((np.arange(24 * 32, dtype=np.uint16) * 80).reshape(24, 32)).save(src)
    assert main(["encode", str(src), str(spk), "-q", "80"]) == 0
    capsys.readouterr()
    assert main(["info", str(spk)]) == 0
    out = capsys.readouterr().out
    assert "samples     16 bits, lossy (coded on the 8-bit scale)" in out and "table" in out
    assert main(["decode", str(spk), str(tmp_path / "out.png")]) == 0
    assert Image.open(tmp_path / "out.png").mode.startswith("I")


def test_info_on_a_truncated_stream_reports_the_partial_slice(tmp_path, png, capsys):
    spk, cut = tmp_path / "x.spk", tmp_path / "cut.spk"
    assert main(["encode", str(png), str(spk), "-q", "90"]) == 0
    data = spk.read_bytes()
    stream_ = container.unpack(data)
    # Keep the header, the first slice, the next slice's 8-byte head and 3 of its bytes.
    end = stream_.ends[0] + 8 + 3
    cut.write_bytes(data[:end])
    capsys.readouterr()
    assert main(["info", str(cut)]) == 0
    out = capsys.readouterr().out
    assert "(1 complete)" in out
    assert f"truncated   {end} of {len(data)} bytes" in out
    assert slice_lines(out)[-1][3:6] == ["3", "bytes", "of"]


def test_info_on_a_cut_stream_says_it_was_cut_inside_a_slice(tmp_path, png, capsys):
    spk, cut = tmp_path / "x.spk", tmp_path / "cut.spk"
    assert main(["encode", str(png), str(spk), "-q", "90"]) == 0
    data = spk.read_bytes()
    stream_ = container.unpack(data)
    end = stream_.ends[0] + 8 + 3
    assert main(["truncate", str(spk), str(cut), "--bytes", str(end)]) == 0
    capsys.readouterr()
    assert main(["info", str(cut)]) == 0
    out = capsys.readouterr().out
    assert "(1 complete)" in out
    assert "cut         on purpose inside slice 1 (a cut stream)" in out
    assert "truncated" not in out
    assert slice_lines(out)[-1][3:7] == ["3", "bytes", "of", str(len(stream_.slices[1]))]


# --------------------------------------------------------------------------------------------
# truncate


def test_truncate_to_a_bit_rate_round_trip(tmp_path, png, capsys):
    spk, cut, out = tmp_path / "x.spk", tmp_path / "cut.spk", tmp_path / "cut.png"
    assert main(["encode", str(png), str(spk), "-q", "90"]) == 0
    data = spk.read_bytes()
    capsys.readouterr()
    assert main(["truncate", str(spk), str(cut), "--bpp", "0.5"]) == 0
    short = cut.read_bytes()
    assert len(short) == 0.5 * 48 * 40 / 8
    assert short == sc.truncate(data, bpp=0.5)
    assert capsys.readouterr().err == f"{cut}: {len(short)} bytes, 0.5000 bpp\n"
    # The cut file is a proper one: a strict decode passes without a warning.
    assert main(["decode", "--strict", str(cut), str(out)]) == 0
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(np.asarray(Image.open(out)), sc.decode(data[: len(short)]))
    assert listing(tmp_path) == {"in.png", "x.spk", "cut.spk", "cut.png"}


def test_truncate_to_bytes_and_to_an_instant(tmp_path, png):
    spk, cut = tmp_path / "x.spk", tmp_path / "cut.spk"
    assert main(["encode", str(png), str(spk)]) == 0
    data = spk.read_bytes()
    assert main(["truncate", str(spk), str(cut), "--bytes", "300"]) == 0
    assert cut.read_bytes() == sc.truncate(data, 300)
    assert main(["truncate", str(spk), str(cut), "--until", "0.25", "--force"]) == 0
    np.testing.assert_array_equal(sc.decode(cut.read_bytes()), sc.decode(data, until=0.25))


def test_truncate_keeps_an_existing_output_without_force(tmp_path, png, capsys):
    spk, cut = tmp_path / "x.spk", tmp_path / "cut.spk"
    assert main(["encode", str(png), str(spk)]) == 0
    cut.write_bytes(b"precious")
    capsys.readouterr()
    before = listing(tmp_path)
    code = main(["truncate", str(spk), str(cut), "--bytes", "200"])
    assert "--force" in assert_failed_cleanly(code, capsys, tmp_path, before, expected=3)
    assert cut.read_bytes() == b"precious"
    assert main(["truncate", str(spk), str(cut), "--bytes", "200", "-f"]) == 0
    assert len(cut.read_bytes()) == 200


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (["--bytes", "10"], "header"),
        (["--bpp", "-1"], "positive"),
        (["--bytes", "100000"], "cannot cut"),
        (["--until", "2"], "fraction"),
    ],
)
def test_truncate_to_a_bad_target_fails_cleanly(tmp_path, png, capsys, target, message):
    spk = tmp_path / "x.spk"
    assert main(["encode", str(png), str(spk)]) == 0
    capsys.readouterr()
    before = listing(tmp_path)
    code = main(["truncate", str(spk), str(tmp_path / "cut.spk"), *target])
    assert message in assert_failed_cleanly(code, capsys, tmp_path, before)


def test_truncate_needs_exactly_one_target(tmp_path, capsys):
    for target in ([], ["--bytes", "100", "--bpp", "0.5"]):
        with pytest.raises(SystemExit) as info:
            main(["truncate", "a.spk", "b.spk", *target])
        assert info.value.code == 2
    assert "usage" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Existing outputs


def test_an_existing_output_is_kept_without_force(tmp_path, png, capsys):
    spk = tmp_path / "x.spk"
    spk.write_bytes(b"precious")
    before = listing(tmp_path)
    code = main(["encode", str(png), str(spk)])
    err = assert_failed_cleanly(code, capsys, tmp_path, before, expected=3)
    assert "--force" in err
    assert spk.read_bytes() == b"precious"


def test_an_existing_output_is_replaced_with_force(tmp_path, png, rgb):
    spk = tmp_path / "x.spk"
    spk.write_bytes(b"precious")
    assert main(["encode", str(png), str(spk), "--force"]) == 0
    assert spk.read_bytes() == sc.encode(rgb)
    assert listing(tmp_path) == {"in.png", "x.spk"}


def test_decode_keeps_an_existing_image_without_force(tmp_path, png, capsys):
    spk, out = tmp_path / "x.spk", tmp_path / "out.png"
    assert main(["encode", str(png), str(spk)]) == 0
    out.write_bytes(b"old")
    capsys.readouterr()
    before = listing(tmp_path)
    assert_failed_cleanly(main(["decode", str(spk), str(out)]), capsys, tmp_path, before, 3)
    assert out.read_bytes() == b"old"
    assert main(["decode", str(spk), str(out), "-f"]) == 0
    with Image.open(out) as im:
        assert im.size == (40, 48)


# --------------------------------------------------------------------------------------------
# Failures leave nothing behind


def test_a_non_image_input_fails_cleanly(tmp_path, capsys):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    before = listing(tmp_path)
    code = main(["encode", str(bad), str(tmp_path / "x.spk")])
    err = assert_failed_cleanly(code, capsys, tmp_path, before)
    assert "cannot read an image" in err


def test_a_missing_input_fails_cleanly(tmp_path, capsys):
    before = listing(tmp_path)
    code = main(["encode", str(tmp_path / "absent.png"), str(tmp_path / "x.spk")])
    assert_failed_cleanly(code, capsys, tmp_path, before)


def test_an_image_of_float_samples_fails_cleanly(tmp_path, capsys):
    src = tmp_path / "a.tif"
    Image.new("F", (8, 8)).save(src)
    before = listing(tmp_path)
    code = main(["encode", str(src), str(tmp_path / "x.spk")])
    assert "mode" in assert_failed_cleanly(code, capsys, tmp_path, before)


def test_a_bad_quality_fails_cleanly(tmp_path, png, capsys):
    before = listing(tmp_path)
    code = main(["encode", str(png), str(tmp_path / "x.spk"), "-q", "0"])
    assert "quality" in assert_failed_cleanly(code, capsys, tmp_path, before)


@pytest.mark.parametrize(
    "content", [b"", b"garbage", b"\x89SPK\x01", b"\x89PNG\r\n\x1a\n" + bytes(64)]
)
def test_decoding_a_bad_stream_fails_cleanly(tmp_path, capsys, content):
    spk = tmp_path / "bad.spk"
    spk.write_bytes(content)
    before = listing(tmp_path)
    code = main(["decode", str(spk), str(tmp_path / "out.png")])
    assert_failed_cleanly(code, capsys, tmp_path, before)
    assert main(["info", str(spk)]) == 1


def test_decoding_a_damaged_stream_strictly_fails_cleanly(tmp_path, png, capsys):
    spk = tmp_path / "x.spk"
    assert main(["encode", str(png), str(spk)]) == 0
    data = bytearray(spk.read_bytes())
    data[-1] ^= 0xFF  # inside the last slice: its checksum no longer matches
    spk.write_bytes(bytes(data))
    capsys.readouterr()
    before = listing(tmp_path)
    code = main(["decode", "--strict", str(spk), str(tmp_path / "out.png")])
    assert "checksum" in assert_failed_cleanly(code, capsys, tmp_path, before)


def test_decoding_a_damaged_stream_warns_and_keeps_the_intact_slices(tmp_path, png, capsys):
    spk = tmp_path / "x.spk"
    assert main(["encode", str(png), str(spk)]) == 0
    intact = spk.read_bytes()
    data = bytearray(intact)
    data[-1] ^= 0xFF
    spk.write_bytes(bytes(data))
    capsys.readouterr()
    out = tmp_path / "out.png"
    assert main(["decode", str(spk), str(out)]) == 0
    assert "warning" in capsys.readouterr().err
    # The last slice carries the instants T/2 .. T: what is left is the image at T/2.
    np.testing.assert_array_equal(np.asarray(Image.open(out)), sc.decode(intact, until=0.5))


def test_an_unknown_output_extension_fails_cleanly(tmp_path, png, capsys):
    spk = tmp_path / "x.spk"
    assert main(["encode", str(png), str(spk)]) == 0
    capsys.readouterr()
    before = listing(tmp_path)
    code = main(["decode", str(spk), str(tmp_path / "out.nothing")])
    assert "extension" in assert_failed_cleanly(code, capsys, tmp_path, before)


def test_a_failed_write_leaves_no_temporary_file(tmp_path, png, capsys):
    # The output is a directory: the rename fails after the temporary file was written.
    target = tmp_path / "dir.spk"
    target.mkdir()
    before = listing(tmp_path)
    code = main(["encode", str(png), str(target), "--force"])
    assert_failed_cleanly(code, capsys, tmp_path, before)
    assert list(target.iterdir()) == []


def test_an_output_in_a_missing_directory_fails_cleanly(tmp_path, png, capsys):
    before = listing(tmp_path)
    code = main(["encode", str(png), str(tmp_path / "nowhere" / "x.spk")])
    assert_failed_cleanly(code, capsys, tmp_path, before)


def test_a_decompression_bomb_fails_cleanly(tmp_path, capsys):
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    bomb = tmp_path / "bomb.png"
    ihdr = struct.pack(">IIBBBBB", 30_000, 30_000, 8, 0, 0, 0, 0)
    bomb.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 31))
        + chunk(b"IEND", b"")
    )
    before = listing(tmp_path)
    code = main(["encode", str(bomb), str(tmp_path / "x.spk")])
    assert_failed_cleanly(code, capsys, tmp_path, before)


# --------------------------------------------------------------------------------------------
# Usage


def test_usage_errors_exit_with_2(capsys):
    for argv in ([], ["encode"], ["frobnicate"], ["encode", "a", "b", "-q"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    assert "usage" in capsys.readouterr().err
    assert main(["encode", "a.png"]) == 2  # one path and no --out
    assert "usage" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"spikecodec {sc.__version__}"


def test_bench_runs_from_the_command_line(tmp_path):
    image = tmp_path / "crop.png"
    Image.fromarray(load_sample("kodim05")[:48, :40]).convert("L").save(image)
    out = tmp_path / "bench"
    args = ["bench", str(image), "--codecs", "spikecodec,jpeg", "--workers", "0", "--out"]
    settings = ["--settings", "jpeg=30,60,90", "--settings", "spikecodec=30,60,90"]
    assert main([*args, str(out), *settings, "--no-progress"]) == 0
    rows = (out / "rows.csv").read_text().splitlines()
    assert len(rows) == 1 + 6
    assert {"spikecodec.json", "jpeg.json", "bd.md", "rd.png", "speed.md"} <= {
        p.name for p in out.iterdir()
    }


# --------------------------------------------------------------------------------------------
# Metadata


def jpeg_with_metadata(path: Path, image) -> dict:
    from PIL import ImageCms

    exif = Image.Exif()
    exif[0x0112] = 6
    info = {
        "icc_profile": ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
        "exif": exif.tobytes(),
        "xmp": b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>',
    }
    Image.fromarray(image).save(path, format="JPEG", **info)
    return info


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tiff", ".webp"])
def test_decode_writes_the_metadata_into_the_output_file(tmp_path, rgb, suffix, capsys):
    src, spk, out = tmp_path / "in.jpg", tmp_path / "x.spk", tmp_path / f"out{suffix}"
    info = jpeg_with_metadata(src, rgb)
    assert main(["encode", str(src), str(spk), "-q", "80"]) == 0
    assert main(["decode", str(spk), str(out)]) == 0
    with Image.open(out) as im:
        if suffix == ".tiff":  # Pillow turns a TIFF upright as it reads it
            assert im.tag_v2[0x0112] == 6
        else:
            assert im.size == (rgb.shape[1], rgb.shape[0])  # orientation kept as metadata
            assert im.getexif()[0x0112] == 6
        assert im.info["icc_profile"] == info["icc_profile"]
        xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
        if suffix == ".tiff":
            xmp = im.tag_v2.get(700)
        xmp = xmp.encode() if isinstance(xmp, str) else xmp
        assert xmp == info["xmp"]


def test_strip_and_auto_orient(tmp_path, rgb, capsys):
    src, spk = tmp_path / "in.jpg", tmp_path / "x.spk"
    jpeg_with_metadata(src, rgb)
    assert main(["encode", str(src), str(spk), "--strip"]) == 0
    assert sc.decode(spk.read_bytes(), with_info=True)[1] == {}
    assert main(["encode", str(src), str(spk), "--force"]) == 0
    assert main(["decode", str(spk), str(tmp_path / "up.png"), "--auto-orient"]) == 0
    with Image.open(tmp_path / "up.png") as im:
        assert im.size == (rgb.shape[0], rgb.shape[1])
        assert im.getexif().get(0x0112, 1) == 1


def test_info_lists_the_metadata_chunks(tmp_path, rgb, capsys):
    src, spk = tmp_path / "in.jpg", tmp_path / "x.spk"
    info = jpeg_with_metadata(src, rgb)
    assert main(["encode", str(src), str(spk)]) == 0
    capsys.readouterr()
    assert main(["info", str(spk)]) == 0
    out = capsys.readouterr().out
    for name, key in (("ICC", "icc_profile"), ("EXIF", "exif"), ("XMP", "xmp")):
        line = next(line for line in out.splitlines() if line.strip().startswith(name))
        assert int(line.split()[3]) == len(sc.decode(spk.read_bytes(), with_info=True)[1][key])
    assert len(info) == 3


def test_decode_refuses_a_quality_the_output_format_would_ignore(tmp_path, png, capsys):
    spk = tmp_path / "x.spk"
    assert main(["encode", str(png), str(spk), "--quiet"]) == 0
    before = listing(tmp_path)
    assert main(["decode", str(spk), str(tmp_path / "x.png"), "--quality", "80"]) == 2
    assert "--quality is for the lossy formats" in capsys.readouterr().err
    assert listing(tmp_path) == before
    assert main(["decode", str(spk), str(tmp_path / "x.jpg"), "--quality", "80"]) == 0


def test_16_bit_rgba_pngs_round_trip_through_the_command(tmp_path, capsys):
    """A 16-bit RGBA PNG in, the same samples out (pypng reads and writes them; Pillow holds
    them at 8 bits), its metadata carried; a format Pillow writes only at 8 bits refused."""
    from spikecodec.cli.output import image_file_bytes

    rng = np.random.default_rng(4)
    image = rng.integers(0, 65536, (12, 20, 4)).astype(np.uint16)
    src = tmp_path / "in.png"
    src.write_bytes(image_file_bytes(image, "PNG", {"xmp": b"<x:xmpmeta/>"}))
    spk = tmp_path / "x.spk"
    assert main(["encode", str(src), str(spk), "--lossless"]) == 0
    assert main(["decode", str(spk), str(tmp_path / "out.png")]) == 0
    decoded, info = sc.load_image(tmp_path / "out.png", deep=True, alpha=True, with_info=True)
    np.testing.assert_array_equal(decoded, image)
    assert info["xmp"] == b"<x:xmpmeta/>"
    assert main(["decode", str(spk), str(tmp_path / "out.tif")]) == 0
    decoded, info = sc.load_image(tmp_path / "out.tif", deep=True, alpha=True, with_info=True)
    np.testing.assert_array_equal(decoded, image)
    assert info["xmp"] == b"<x:xmpmeta/>"
    capsys.readouterr()
    before = listing(tmp_path)
    code = main(["decode", str(spk), str(tmp_path / "out.webp")])
    assert "written as PNG or TIFF" in assert_failed_cleanly(code, capsys, tmp_path, before)
