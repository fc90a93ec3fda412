"""The dev image corpus: where it lives and how to read it, in one fixed order.

The corpus root holds one folder of PNG images per set (``kodak/``: 24 RGB, ``bsd68/``: 68
grayscale, ``set12/``: 12 grayscale; 104 images in all). It is found from

1. the environment variable ``SPIKECODEC_DATA``, if set;
2. else ``../shared/data`` relative to the *current working directory* (the layout of a checkout
   run from its own directory), if that folder exists;

and otherwise :func:`data_root` raises :class:`FileNotFoundError` asking for
``SPIKECODEC_DATA``. (The root is deliberately not derived from the package's location, which
is somewhere in ``site-packages`` once the package is installed.)

Images come in a fixed order: the sets in the order asked for, the files of each set sorted by
name::

    for set_name, name, image in corpus_images(("kodak",), mode="L"):   # Kodak luma
        ...
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["DATA_ENV", "SETS", "corpus_images", "corpus_paths", "data_root", "read_image"]

DATA_ENV = "SPIKECODEC_DATA"
SETS = ("kodak", "bsd68", "set12")
"""The sets of the dev corpus, each a folder of PNG files under the corpus root."""
_MODES = ("L", "RGB")


def data_root() -> Path:
    """The corpus root: ``$SPIKECODEC_DATA``, else ``./../shared/data`` if it exists.

    Raises
    ------
    FileNotFoundError
        If ``SPIKECODEC_DATA`` names a missing folder, or is unset and ``../shared/data`` (from
        the current directory) does not exist.
    """
    env = os.environ.get(DATA_ENV)
    if env:
        root = Path(env).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"{DATA_ENV}={env!r} is not a directory")
        return root.resolve()
    root = Path.cwd() / ".." / "shared" / "data"
    if root.is_dir():
        return root.resolve()
    folders = ", ".join(f"{s}/" for s in SETS)
    raise FileNotFoundError(
        f"image corpus not found: set {DATA_ENV} to the folder holding {folders} "
        f"(the default, ../shared/data from the current directory {Path.cwd()}, does not exist)"
    )


def corpus_paths(sets: Sequence[str] = SETS, root: Path | None = None) -> list[tuple[str, Path]]:
    """``(set, path)`` of every PNG of the given sets: sets in the order given, files sorted.

    Raises
    ------
    ValueError
        If ``sets`` is a bare string (a common slip for a 1-tuple).
    FileNotFoundError
        If a set's folder is missing or holds no PNG file.
    """
    if isinstance(sets, str):
        raise ValueError(f"sets must be a sequence of set names, got the string {sets!r}")
    root = data_root() if root is None else Path(root)
    out = []
    for set_name in sets:
        paths = sorted((root / set_name).glob("*.png"))
        if not paths:
            raise FileNotFoundError(f"no PNG images in {root / set_name}")
        out += [(set_name, p) for p in paths]
    return out


def read_image(path: str | os.PathLike, mode: str = "L") -> np.ndarray:
    """An image file as a uint8 array, converted by Pillow to ``mode``.

    ``"L"`` gives ``(H, W)`` (RGB images become their luma, ``Image.convert('L')``: ITU-R
    BT.601 in Pillow's fixed point); ``"RGB"`` gives ``(H, W, 3)`` (a grayscale image becomes
    three equal channels).
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    with Image.open(path) as im:
        return np.asarray(im.convert(mode))


def corpus_images(
    sets: Sequence[str] = SETS, mode: str = "L", root: Path | None = None
) -> Iterator[tuple[str, str, np.ndarray]]:
    """Yield ``(set, name, image)`` for every image of ``sets``, in :func:`corpus_paths` order.

    ``name`` is the file's stem (``"kodim01"``); ``image`` is uint8, converted to ``mode``
    (see :func:`read_image`).
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    for set_name, path in corpus_paths(sets, root):
        yield set_name, path.stem, read_image(path, mode)
