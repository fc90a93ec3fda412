"""The bench's work: jobs (image x codec x setting), measured on Dask, kept in a resumable CSV.

A run is a list of :class:`Job` (:func:`plan`), one per image, codec and setting. Each job is
one :meth:`~spikecodec.lab.bench.Codec.run` on a Dask worker, fed by one task per image that reads
it (:func:`~spikecodec.lab.bench.corpus.read_image`); :func:`measure` sends the graph to a cluster
(:func:`dask_client`: a ``LocalCluster`` of processes, an in-process worker, or an existing
scheduler) and appends each row to a CSV file as it arrives, so that an interrupted run picks
up where it stopped. Each codec's first job in a worker process is preceded by an untimed
encode and decode of the same image, which keeps one-off costs out of the timings::

    jobs = plan(find_images(["../shared/data/kodak"]), ["spikecodec", "jpeg"], mode="L")
    rows = measure(jobs, Path("out/rows.csv"), workers=2)

The CSV is the cache. A row's key is the image's path and content hash (SHA-256, 16 hex
digits), the mode, the codec, the setting and the codec's
:meth:`~spikecodec.lab.bench.Codec.version`;
a job whose key has a row without error is not run again. Rows of failed jobs (an image that
does not load, a codec that raises: the ``error`` column holds the exception) are run again
next time. Rows of other images, codecs or settings stay in the file; rows of an older version
of a codec that the run measures are dropped.

Rows are dicts of strings in the CSV's format (integers in decimal, floats as ``repr``, so they
read back exactly) and come sorted, so that the same jobs give the same rows, bit for bit apart
from the timing columns, whatever the number of workers. One run at a time per CSV file.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ...errors import SpikeCodecError
from .codecs import CODECS, get_codec
from .corpus import corpus_paths, read_image

__all__ = [
    "FIELDS",
    "TIMING_FIELDS",
    "Job",
    "dask_client",
    "default_workers",
    "find_images",
    "measure",
    "parse_settings",
    "plan",
    "read_rows",
    "resolve_codecs",
]

FIELDS = (
    "set", "image", "path", "sha256", "mode", "height", "width", "codec", "version", "setting",
    "bytes", "bpp", "psnr", "psnr_y", "ssim", "ms_ssim", "encoding_time", "decoding_time",
    "error",
)  # fmt: skip
"""The CSV's columns, in order."""
TIMING_FIELDS = ("encoding_time", "decoding_time")
"""The columns that differ from run to run (wall-clock seconds)."""
_KEY_FIELDS = ("path", "sha256", "mode", "codec", "setting", "version")
_MEASURED = ("height", "width", "bytes", "bpp", "psnr", "psnr_y", "ssim", "ms_ssim",
             "encoding_time", "decoding_time")  # fmt: skip
IMAGE_SUFFIXES = (".bmp", ".jpeg", ".jpg", ".pgm", ".png", ".pnm", ".ppm", ".tif", ".tiff")
"""The file name endings taken from a folder given as input."""
_MODES = ("L", "RGB")


@dataclass(frozen=True)
class Job:
    """One measurement: an image file in a mode, a codec and a setting."""

    set: str  # the image's folder name (the corpus set)
    image: str  # the file's stem
    path: str  # absolute
    sha256: str  # the file's content hash, 16 hex digits
    mode: str  # "L" or "RGB"
    codec: str
    version: str  # the codec's version (Codec.version())
    setting: Any

    @property
    def key(self) -> tuple[str, ...]:
        return (self.path, self.sha256, self.mode, self.codec, _fmt(self.setting), self.version)


def _fmt(value: Any) -> str:
    """A CSV cell: floats as ``repr`` (exact round trip), None as empty."""
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return str(value)


def _row_key(row: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(row[field] for field in _KEY_FIELDS)


def _sort_key(row: Mapping[str, str]) -> tuple:
    return (row["set"], row["image"], row["path"], row["mode"], row["codec"],
            float(row["setting"]), row["setting"], row["version"])  # fmt: skip


# --- what to run ----------------------------------------------------------------------------------


def find_images(inputs: Sequence[str | os.PathLike] = (), sets: Sequence[str] = ()) -> list:
    """``(set, path)`` of the images to measure, without repeats, in the order given.

    Each input is a file (taken as it is, whatever its name) or a folder (its files ending in
    one of :data:`IMAGE_SUFFIXES`, sorted by name); ``sets`` adds corpus sets
    (:func:`~spikecodec.lab.bench.corpus.corpus_paths`). The set of an image is its folder's name.

    Raises
    ------
    SpikeCodecError
        If an input does not exist, a folder holds no image, or nothing is given.
    """
    found: list[tuple[str, Path]] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise SpikeCodecError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {path}")
            found += [(path.resolve().name, p) for p in files]
        elif path.is_file():
            found.append((path.resolve().parent.name, path))
        else:
            raise SpikeCodecError(f"{path}: no such file or folder")
    if sets:
        try:
            found += corpus_paths(list(sets))
        except FileNotFoundError as err:
            raise SpikeCodecError(str(err)) from None
    if not found:
        raise SpikeCodecError("no images given: name files, folders or corpus sets")
    unique: dict[Path, tuple[str, Path]] = {}
    for set_name, path in found:
        unique.setdefault(path.resolve(), (set_name, path.resolve()))
    return list(unique.values())


def resolve_codecs(spec: str) -> list[str]:
    """The codec names of a comma-separated list; ``"all"``: every available codec.

    Raises
    ------
    SpikeCodecError
        If a name is unknown or its codec is not available here.
    """
    if spec.strip() == "all":
        return [name for name, cls in CODECS.items() if cls.available()]
    names = list(dict.fromkeys(n.strip() for n in spec.split(",") if n.strip()))
    if not names:
        raise SpikeCodecError("no codec given")
    for name in names:
        try:
            get_codec(name)
        except ValueError as err:
            raise SpikeCodecError(str(err)) from None
    return names


def parse_settings(specs: Sequence[str], codecs: Sequence[str]) -> dict[str, list]:
    """Settings that replace codecs' default sweeps, from ``codec=v1,v2,...`` strings.

    Each value takes the type of the codec's default settings (``int`` for a quality,
    ``float`` for JPEG 2000's target bpp). Values are not checked here: a value the codec
    rejects gives failed rows.

    Raises
    ------
    SpikeCodecError
        If a string is malformed, names a codec not in ``codecs``, or a value does not parse.
    """
    out: dict[str, list] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        name = name.strip()
        if not sep or not values.strip():
            raise SpikeCodecError(f"settings must read codec=v1,v2,..., got {spec!r}")
        if name not in codecs:
            raise SpikeCodecError(f"settings for {name!r}, which is not among {list(codecs)}")
        kind = type(CODECS[name].settings[0])
        try:
            out[name] = [kind(v) for v in values.split(",") if v.strip()]
        except ValueError:
            raise SpikeCodecError(
                f"{name} settings must be {kind.__name__}s, got {values!r}"
            ) from None
    return out


def plan(
    images: Sequence[tuple[str, Path]],
    codecs: Sequence[str],
    mode: str = "L",
    settings: Mapping[str, Sequence] | None = None,
) -> list[Job]:
    """Every job of a run, without repeats: each image (read in ``mode``) with each codec and
    setting.

    ``settings`` replaces some codecs' default sweeps (:func:`parse_settings`). Image files are
    hashed here.
    """
    if mode not in _MODES:
        raise SpikeCodecError(f"mode must be one of {_MODES}, got {mode!r}")
    settings = settings or {}
    versions = {name: CODECS[name].version() for name in codecs}
    jobs = []
    for set_name, path in images:
        path = Path(path).resolve()
        sha = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        for name in codecs:
            for setting in settings.get(name, CODECS[name].settings):
                jobs.append(
                    Job(set_name, path.stem, str(path), sha, mode, name, versions[name], setting)
                )
    return list(dict.fromkeys(jobs))


# --- the CSV --------------------------------------------------------------------------------------


def read_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a bench CSV (none if it does not exist); incomplete lines are left out."""
    path = Path(path)
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return [
            {k: row[k] for k in FIELDS}
            for row in csv.DictReader(f)
            if all(row.get(k) is not None for k in FIELDS) and None not in row
        ]


def _write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(sorted(rows, key=_sort_key))
    os.replace(tmp, path)


def _merge(rows: list[dict[str, str]], versions: Mapping[str, str]) -> list[dict[str, str]]:
    """One row per key (the last), without rows of other versions of the codecs in ``versions``."""
    by_key = {_row_key(r): r for r in rows}
    return [r for r in by_key.values() if versions.get(r["codec"], r["version"]) == r["version"]]


# --- the Dask graph -------------------------------------------------------------------------------


def default_workers() -> int:
    """The number of CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


@contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator:
    """A :class:`dask.distributed.Client` for a run, closed (with its cluster) on exit.

    ``scheduler`` (``"tcp://host:port"``) connects to an existing cluster, whose workers must
    have spikecodec and the codecs' libraries installed. Otherwise a ``LocalCluster`` is made:
    ``workers`` processes of one thread each (default: :func:`default_workers`), or for
    ``workers`` 0 or 1, a single worker thread in this process.
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise SpikeCodecError(
            "the bench runs on Dask: pip install 'dask[distributed]' (or 'spikecodec[bench]')"
        ) from None
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    n = default_workers() if workers is None else workers
    options = {
        "threads_per_worker": 1,
        "dashboard_address": None,
        # No dashboard; the scheduler's HTTP server (health, metrics) on any free port.
        "scheduler_kwargs": {"dashboard_address": ":0"},
        "silence_logs": logging.ERROR,
    }
    with (
        LocalCluster(n_workers=max(n, 1), processes=n > 1, **options) as cluster,
        Client(cluster) as client,
    ):
        yield client


_WARM: set[str] = set()  # the codecs that have run once in this process


def _measure_one(image: np.ndarray, codec: str, setting: Any) -> dict[str, Any]:
    """One job on a worker: the codec's :meth:`~spikecodec.lab.bench.Codec.run`, with the size.

    A codec's first job in a process codes the image once untimed first, so that one-off costs
    (imports, JIT compilation, tables) stay out of the timings.
    """
    instance = get_codec(codec)
    if codec not in _WARM:
        instance.decode(instance.encode(image, setting))
        _WARM.add(codec)
    return {"height": image.shape[0], "width": image.shape[1], **instance.run(image, setting)}


def _row(job: Job, result: Mapping[str, Any], error: str) -> dict[str, str]:
    row = {
        "set": job.set, "image": job.image, "path": job.path, "sha256": job.sha256,
        "mode": job.mode, "codec": job.codec, "version": job.version, "setting": _fmt(job.setting),
        "error": " ".join(error.split()),
    }  # fmt: skip
    row.update({k: _fmt(result.get(k)) for k in _MEASURED})
    return {k: row[k] for k in FIELDS}


def _submit(client, jobs: Sequence[Job], on_row: Callable[[dict], None], progress: bool) -> None:
    from dask.distributed import as_completed

    images: dict[tuple[str, str], Any] = {}
    futures = {}
    for job in jobs:
        if (job.path, job.mode) not in images:
            images[job.path, job.mode] = client.submit(read_image, job.path, job.mode)
        image = images[job.path, job.mode]
        futures[client.submit(_measure_one, image, job.codec, job.setting, pure=False)] = job
    images.clear()  # each image is released once its jobs are done
    with tqdm(total=len(futures), desc="bench", unit="job", disable=not progress) as bar:
        for future in as_completed(list(futures)):
            job = futures.pop(future)
            try:
                result, error = future.result(), ""
            except Exception as err:  # a failed job is a row, and the run goes on
                result, error = {}, f"{type(err).__name__}: {err}"
            on_row(_row(job, result, error))
            bar.update()


def measure(
    jobs: Sequence[Job],
    rows_path: str | os.PathLike,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
) -> list[dict[str, str]]:
    """Run the jobs that ``rows_path`` does not hold yet; every job's row, sorted.

    Each row is appended to ``rows_path`` as it arrives; at the end the file is rewritten
    sorted, one row per key (see the module's description). ``workers`` and ``scheduler`` are
    :func:`dask_client`'s; ``progress`` shows a progress bar (tqdm) over the jobs to run.
    """
    rows_path = Path(rows_path)
    versions = {job.codec: job.version for job in jobs}
    rows = _merge(read_rows(rows_path), versions)
    _write_rows(rows_path, rows)  # also drops a line cut short by an interrupted run
    done = {_row_key(r) for r in rows if not r["error"]}
    pending = [job for job in jobs if job.key not in done]
    if pending:
        with rows_path.open("a", newline="") as f, dask_client(workers, scheduler) as client:
            writer = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")

            def on_row(row: dict[str, str]) -> None:
                writer.writerow(row)
                f.flush()
                rows.append(row)

            _submit(client, pending, on_row, progress)
        rows = _merge(rows, versions)
        _write_rows(rows_path, rows)
    by_key = {_row_key(r): r for r in rows}
    return sorted((by_key[job.key] for job in jobs), key=_sort_key)
