"""docs/neuromorphic.md runs as written: its Python blocks, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "neuromorphic.md"


def test_the_neuromorphic_tutorial_runs(tmp_path, monkeypatch, capsys):
    for extra in ("nir", "tonic", "torch", "snntorch"):
        pytest.importorskip(extra, reason="the snn extra is not installed")
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 4
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    same = float(re.search(r"equal the codec's for ([\d.]+)%", out).group(1))
    assert same >= 99.0
    assert (tmp_path / "enc.nir").exists()
