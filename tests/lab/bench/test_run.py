"""Tests of spikecodec.lab.bench.run: jobs, the Dask graph, failed rows and the resumable CSV."""

import csv

import numpy as np
import pytest
from PIL import Image

from spikecodec.data import load_sample
from spikecodec.errors import SpikeCodecError
from spikecodec.lab.bench import run
from spikecodec.lab.bench.codecs import JPEG

SETTINGS = {"jpeg": [30, 80], "spikecodec": [30, 80]}


@pytest.fixture
def folder(tmp_path):
    """Three 64x64 crops of a sample image, as PNG files."""
    sample = load_sample()
    folder = tmp_path / "crops"
    folder.mkdir()
    for i, (r, c) in enumerate([(0, 0), (96, 32), (192, 160)]):
        Image.fromarray(sample[r : r + 64, c : c + 64]).save(folder / f"crop{i}.png")
    return folder


def _jobs(folder, mode="L", settings=SETTINGS):
    return run.plan(run.find_images([folder]), list(settings), mode, settings)


def _untimed(rows):
    return [{k: v for k, v in r.items() if k not in run.TIMING_FIELDS} for r in rows]


def test_rows_identical_for_one_and_two_workers(folder, tmp_path):
    jobs = _jobs(folder, "RGB")
    one = run.measure(jobs, tmp_path / "one.csv", workers=1, progress=False)
    two = run.measure(jobs, tmp_path / "two.csv", workers=2, progress=False)
    assert len(one) == len(jobs) == 3 * 2 * 2
    assert not any(r["error"] for r in one)
    assert _untimed(one) == _untimed(two)
    assert _untimed(run.read_rows(tmp_path / "one.csv")) == _untimed(one)
    # Sorted, and the values are what a direct measurement gives.
    assert one == sorted(one, key=run._sort_key)
    image = np.asarray(Image.open(folder / "crop1.png"))
    direct = JPEG().run(image, 80)
    row = next(
        r for r in one if r["image"] == "crop1" and r["codec"] == "jpeg" and r["setting"] == "80"
    )
    assert int(row["bytes"]) == direct["bytes"] and (row["height"], row["width"]) == ("64", "64")
    for key in ("bpp", "psnr", "psnr_y", "ssim", "ms_ssim"):
        assert row[key] == repr(direct[key])
    assert float(row["psnr"]) != float(row["psnr_y"])  # RGB mode: PSNR over RGB and on luma


def test_runs_on_an_existing_scheduler(folder, tmp_path):
    from dask.distributed import LocalCluster

    jobs = _jobs(folder, settings={"jpeg": [40]})
    with LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster:
        rows = run.measure(
            jobs, tmp_path / "rows.csv", scheduler=cluster.scheduler_address, progress=False
        )
        assert cluster.scheduler.transition_counter > 0  # the work went to that cluster
    assert len(rows) == 3 and not any(r["error"] for r in rows)


def test_failures_are_rows_and_the_run_goes_on(folder, tmp_path):
    (folder / "broken.png").write_bytes(b"not an image")
    settings = {"jpeg": [50, 500]}  # quality 500: the codec raises
    jobs = _jobs(folder, settings=settings)
    rows = run.measure(jobs, tmp_path / "rows.csv", workers=0, progress=False)
    assert len(rows) == 4 * 2
    failed = {(r["image"], r["setting"]): r["error"] for r in rows if r["error"]}
    assert set(failed) == {("broken", "50"), ("broken", "500")} | {
        (f"crop{i}", "500") for i in range(3)
    }
    assert "UnidentifiedImageError" in failed["broken", "50"]
    assert "ValueError" in failed["crop0", "500"] and "quality" in failed["crop0", "500"]
    ok = [r for r in rows if not r["error"]]
    assert len(ok) == 3 and all(float(r["psnr"]) > 25 for r in ok)
    assert all(r["bytes"] == r["psnr"] == "" for r in rows if r["error"])


def test_rerun_skips_finished_rows_and_resumes_a_cut_run(folder, tmp_path, monkeypatch):
    jobs = _jobs(folder)
    path = tmp_path / "rows.csv"
    first = run.measure(jobs, path, workers=0, progress=False)

    submitted = []
    submit = run._submit
    monkeypatch.setattr(run, "_submit", lambda c, j, *a: (submitted.extend(j), submit(c, j, *a)))
    assert run.measure(jobs, path, workers=0, progress=False) == first
    assert submitted == []

    # An interrupted run: 5 rows written, the 6th cut short in the middle.
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:6]) + lines[6][: len(lines[6]) // 2])
    resumed = run.measure(jobs, path, workers=0, progress=False)
    assert len(submitted) == len(jobs) - 5
    assert _untimed(resumed) == _untimed(first)
    assert _untimed(run.read_rows(path)) == _untimed(first)


def test_first_job_of_a_codec_is_warmed_up(folder, tmp_path, monkeypatch):
    calls = []
    encode = JPEG.encode
    monkeypatch.setattr(JPEG, "encode", lambda *a: (calls.append(a[2]), encode(*a))[1])
    monkeypatch.setattr(run, "_WARM", set())
    jobs = _jobs(folder, settings={"jpeg": [20, 60]})
    run.measure(jobs, tmp_path / "rows.csv", workers=0, progress=False)
    assert len(calls) == len(jobs) + 1 and run._WARM == {"jpeg"}


def test_failed_rows_are_retried(folder, tmp_path, monkeypatch):
    jobs = _jobs(folder, settings={"jpeg": [50]})
    path = tmp_path / "rows.csv"
    monkeypatch.setattr(JPEG, "encode", lambda self, image, setting: 1 / 0)
    rows = run.measure(jobs, path, workers=0, progress=False)
    assert all("ZeroDivisionError" in r["error"] for r in rows)
    monkeypatch.undo()
    rows = run.measure(jobs, path, workers=0, progress=False)
    assert not any(r["error"] for r in rows) and len(run.read_rows(path)) == 3


def test_new_codec_version_reruns_and_drops_old_rows(folder, tmp_path, monkeypatch):
    path = tmp_path / "rows.csv"
    run.measure(_jobs(folder), path, workers=0, progress=False)
    monkeypatch.setattr(JPEG, "version", classmethod(lambda cls: "libjpeg-turbo 99"))
    rows = run.measure(_jobs(folder), path, workers=0, progress=False)
    kept = run.read_rows(path)
    assert {r["version"] for r in kept if r["codec"] == "jpeg"} == {"libjpeg-turbo 99"}
    assert len(kept) == len(rows) == 12
    # Rows of codecs and settings not in this run stay in the file.
    other = run.measure(_jobs(folder, settings={"jpeg": [55]}), path, workers=0, progress=False)
    assert len(other) == 3 and len(run.read_rows(path)) == 15


def test_csv_has_the_documented_columns(folder, tmp_path):
    path = tmp_path / "rows.csv"
    run.measure(_jobs(folder, settings={"jpeg": [50]}), path, workers=0, progress=False)
    with path.open(newline="") as f:
        assert tuple(next(csv.reader(f))) == run.FIELDS


def test_find_images_and_plan(folder, tmp_path):
    (folder / "notes.txt").write_text("not taken from a folder")
    found = run.find_images([folder, folder / "crop1.png"])
    assert [p.name for _, p in found] == ["crop0.png", "crop1.png", "crop2.png"]
    assert {s for s, _ in found} == {"crops"}
    jobs = run.plan(found, ["jpeg", "jpeg2000"], "L", {"jpeg": [10, 10, 90]})
    assert len(jobs) == 3 * (2 + len(run.CODECS["jpeg2000"].settings))
    assert len({j.sha256 for j in jobs}) == 3
    with pytest.raises(SpikeCodecError, match="no such file"):
        run.find_images([tmp_path / "missing.png"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpikeCodecError, match="no images"):
        run.find_images([tmp_path / "empty"])
    with pytest.raises(SpikeCodecError, match="mode"):
        run.plan(found, ["jpeg"], "CMYK")


def test_codecs_and_settings_parsing():
    assert run.resolve_codecs("jpeg, jpeg2000,jpeg") == ["jpeg", "jpeg2000"]
    assert set(run.resolve_codecs("all")) >= {"spikecodec", "jpeg", "jpeg2000"}
    with pytest.raises(SpikeCodecError, match="unknown codec"):
        run.resolve_codecs("jpeg,nope")
    codecs = ["jpeg", "jpeg2000"]
    assert run.parse_settings(["jpeg=10,50", "jpeg2000=1"], codecs) == {
        "jpeg": [10, 50],
        "jpeg2000": [1.0],
    }
    for bad in (["jpeg"], ["jpeg="], ["webp=10"], ["jpeg=10.5"], ["jpeg2000=abc"]):
        with pytest.raises(SpikeCodecError):
            run.parse_settings(bad, codecs)
