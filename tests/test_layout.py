"""The package's layout: its import graph (read with ast; of a Cython module, its import and
cimport statements) has no cycle, no module takes another module's private names, and the
layers depend one way; importing the package, reading a stream and building the command's
parser load no compiled kernel."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import spikecodec

PACKAGE = Path(spikecodec.__file__).parent
ROOT = "spikecodec"

# The rooms below the codec: none of them may import the codec or anything above it.
BELOW_CODEC = (
    "spikecodec._io",
    "spikecodec.alpha",
    "spikecodec.data",
    "spikecodec.entropy",
    "spikecodec.errors",
    "spikecodec.format",
    "spikecodec.images",
    "spikecodec.metrics",
    "spikecodec.neuron",
    "spikecodec.params",
    "spikecodec.quantizer",
    "spikecodec.ratecontrol",
    "spikecodec.reconstruction",
    "spikecodec.tables",
    "spikecodec.transform",
)
ABOVE_CODEC = ("spikecodec.codec", "spikecodec.events", "spikecodec.pillow")
TOP = ("spikecodec.lab", "spikecodec.cli")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted([*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.pyx")])}
KERNELS = {name for name, path in MODULES.items() if path.suffix == ".pyx"}
_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+[\w.]+[ \t]+c?import[ \t]+(?:\([^)]*\)|[^\n]*)|c?import[ \t]+[^\n]*)",
    re.M,
)


def python_of(path: Path) -> str:
    """Source the ast reads: a Python module's, or a Cython module's import and cimport
    statements (as imports)."""
    text = path.read_text()
    if path.suffix == ".py":
        return text
    statements = (
        re.sub(r"\bcimport\b", "import", m.group(0).strip()) for m in _IMPORT.finditer(text)
    )
    return "\n".join(statements)


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def in_room(name: str, rooms) -> bool:
    return any(name == r or name.startswith(r + ".") for r in rooms)


def resolve(importer: str, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` names (relative levels resolved)."""
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    if not is_package(importer):
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in (
        "TYPE_CHECKING",
        "typing.TYPE_CHECKING",
    )


def imports(name: str) -> tuple[set[str], list[str]]:
    """The package's modules ``name`` imports (anywhere in it, lazily too, but not for type
    checkers only) and the private names it takes from other modules."""
    tree = ast.parse(python_of(MODULES[name]))
    skip = {id(n) for node in ast.walk(tree) if type_checking_only(node) for n in ast.walk(node)}
    targets, private, aliases = set(), [], {}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == ROOT:
                    targets.add(alias.name)
                    aliases[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom):
            source = resolve(name, node)
            if source.split(".")[0] != ROOT:
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                if sub in MODULES:
                    targets.add(sub)
                    aliases[alias.asname or alias.name] = sub
                else:
                    targets.add(source)
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        private.append(f"{alias.name} from {source}")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            private.append(f"{node.attr} of {aliases[node.value.id]}")
    targets = {t for t in targets if t in MODULES and t != name}
    return targets, private


GRAPH = {name: imports(name) for name in MODULES}


def test_the_graph_covers_the_package():
    assert "spikecodec.codec" in GRAPH and "spikecodec.entropy.passes" in GRAPH
    assert {"spikecodec.quantizer", "spikecodec.reconstruction"} <= KERNELS
    assert "spikecodec.quantizer" in GRAPH["spikecodec.reconstruction"][0]
    assert "spikecodec.entropy.rangecoder" in GRAPH["spikecodec.entropy.passes"][0]
    assert "spikecodec.entropy.contexts" in GRAPH["spikecodec.entropy.passes"][0]
    assert "spikecodec.format.container" in GRAPH["spikecodec.codec"][0]
    assert "spikecodec.entropy.passes" in KERNELS


def test_the_import_graph_has_no_cycle():
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(GRAPH[node][0]):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)


def test_no_module_takes_private_names_from_another():
    taken = {name: private for name, (_, private) in GRAPH.items() if private}
    assert not taken


@pytest.mark.parametrize("name", sorted(n for n in MODULES if in_room(n, BELOW_CODEC)))
def test_the_rooms_below_the_codec_do_not_import_it_or_anything_above(name):
    above = [t for t in GRAPH[name][0] if in_room(t, ABOVE_CODEC + TOP)]
    assert not above, f"{name} imports {above}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if not in_room(n, TOP)))
def test_only_the_cli_and_the_lab_import_the_cli_and_the_lab(name):
    assert not [t for t in GRAPH[name][0] if in_room(t, TOP)]


def test_the_lab_does_not_import_the_cli():
    for name in MODULES:
        if in_room(name, ("spikecodec.lab",)):
            assert not [t for t in GRAPH[name][0] if in_room(t, ("spikecodec.cli",))], name


def reaches(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        for nxt in GRAPH[node][0]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_format_reaches_no_kernel():
    for name in MODULES:
        if in_room(name, ("spikecodec.format",)):
            assert not reaches(name) & KERNELS, name


def loaded_by(code: str) -> set[str]:
    """The modules (and their top-level packages) a fresh interpreter has loaded after running
    ``code``."""
    probe = f"{code}\nimport sys\nprint(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    names = set(out.stdout.split())
    return names | {name.split(".")[0] for name in names}


@pytest.mark.parametrize(
    "code",
    [
        "import spikecodec",
        "import spikecodec; spikecodec.SpikeCodecError",
        "from spikecodec.format import container",
        "from spikecodec.cli import build_parser; build_parser()",
    ],
)
def test_what_loads_no_kernel_and_no_lab_extra(code):
    heavy = {"numba", "llvmlite", "scipy", "matplotlib", "skimage", "dask"}
    assert not loaded_by(code) & (heavy | KERNELS)


def test_no_module_imports_numba():
    jit = re.compile(r"^[ \t]*(?:import|from)[ \t]+numba\b", re.M)
    assert not [name for name, path in MODULES.items() if jit.search(python_of(path))]


def test_the_codec_loads_its_kernels_and_no_jit_or_lab_extra():
    loaded = loaded_by("import spikecodec; spikecodec.encode; spikecodec.decode")
    assert {"spikecodec.entropy.passes", "spikecodec.transform.lapped"} <= loaded
    assert not loaded & {"numba", "llvmlite", "scipy", "matplotlib", "skimage", "dask"}
