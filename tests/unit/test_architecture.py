"""The shape of the package (docs/architecture.md): import layers, no cycles, one owner per interface file."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "rnamsm"

#: Layers from the bottom up (docs/architecture.md). A module may import its own layer or lower ones.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("rnamsm", "rnamsm.errors", "rnamsm.atomic", "rnamsm.textfile", "rnamsm.arrays", "rnamsm.checksums",
     "rnamsm.options", "rnamsm.settings", "rnamsm.safe_pickle", "rnamsm.layout", "rnamsm.sheets",
     "rnamsm.search_jobs", "rnamsm.slurm_logs"),
    ("rnamsm.formats",),
    ("rnamsm.input", "rnamsm.homology", "rnamsm.model", "rnamsm.evaluation"),
    ("rnamsm.heads",),
    ("rnamsm.training", "rnamsm.report", "rnamsm.baselines"),
    ("rnamsm.cli", "rnamsm.__main__"),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The rnamsm modules that ``name`` imports anywhere (module level or inside functions)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def layer_of(name: str) -> int:
    best = None
    for index, members in enumerate(LAYERS):
        for member in members:
            if name == member or name.startswith(member + "."):
                if best is None or len(member) > len(best[1]):
                    best = (index, member)
    assert best is not None, f"{name} is in no layer of docs/architecture.md"
    return best[0]


def unit_of(name: str) -> str:
    """The package (``rnamsm.heads``) or top-level module (``rnamsm.atomic``) that ``name`` belongs to."""
    parts = name.split(".")
    return ".".join(parts[:2])


GRAPH = {name: imports_of(name, path, set(modules())) for name, path in modules().items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = defaultdict(int)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state[target] == 1:
                return stack[stack.index(target):] + [target]
            if state[target] == 0 and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state[node] == 0 and (cycle := visit(node)):
            return cycle
    return None


def test_every_module_has_a_layer() -> None:
    for name in GRAPH:
        layer_of(name)


def test_no_module_imports_a_higher_layer() -> None:
    upward = sorted(f"{name} -> {target}" for name, targets in GRAPH.items() for target in targets
                    if layer_of(target) > layer_of(name))
    assert upward == []


def test_no_import_cycle_between_modules() -> None:
    assert find_cycle(GRAPH) is None


def test_no_import_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for name, targets in GRAPH.items():
        for target in targets:
            if unit_of(target) != unit_of(name) and unit_of(target) != "rnamsm":
                graph[unit_of(name)].add(unit_of(target))
    assert find_cycle(graph) is None


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "benchmarks").glob("*.py")), ids=lambda path: path.name)
def test_benchmarks_import_only_the_package_and_tests_support(path: Path) -> None:
    tree = ast.parse(path.read_text())
    names = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    names += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert [name for name in names if name.startswith("tests") and not name.startswith("tests.support")] == []


#: Calls that open, read, parse or write a file.
IO_CALLS = {"open", "read_text", "write_text", "read_bytes", "write_bytes", "read_json_object", "atomic_open",
            "atomic_path", "atomic_paths", "write_files", "safe_load", "savez", "savez_compressed"}
#: Calls that are file I/O only on these modules (``json.loads`` of a string is not).
IO_CALLS_OF = {"np": {"load", "save"}, "numpy": {"load", "save"}, "json": {"load", "dump"},
               "torch": {"load", "save"}, "pickle": {"load", "dump"}, "gzip": {"open"}}

#: Every module outside rnamsm.formats that does file I/O, and what it reads or writes: none of them parses
#: an interface file (docs/architecture.md); those that write one write the owner module's text or bytes
#: as an atomic set of files.
FILE_IO_OUTSIDE_FORMATS = {
    "rnamsm.arrays": ".npy/.npz containers (for the formats modules)",
    "rnamsm.atomic": "every output: temporary file, then rename",
    "rnamsm.checksums": "SHA-256 of any file",
    "rnamsm.textfile": "text and JSON files (for the formats modules and the config readers)",
    "rnamsm.sheets": "the sample sheet and config files",
    "rnamsm.slurm_logs": "the tail of the Slurm profile's job logs (what ended a job)",
    "rnamsm.safe_pickle": "pickled checkpoints and heads, without running their code",
    "rnamsm.cli": "the error log of a failing command",
    "rnamsm.baselines.run": "the baselines set, texts from formats.baselines and formats.structure",
    "rnamsm.evaluation.evaluate": "the evaluation JSON and TSV report",
    "rnamsm.heads.convert": "converted head files",
    "rnamsm.heads.demo": "demo head files",
    "rnamsm.heads.head_file": "head .safetensors files",
    "rnamsm.heads.official_formats": "the official RNA-MSM head files",
    "rnamsm.heads.batch": "each sample's log of run-samples",
    "rnamsm.heads.predict_ss": "the predict-ss set, texts from formats.structure and formats.ss_summary",
    "rnamsm.homology.database": "search databases (FASTA, .gz)",
    "rnamsm.homology.import_msa": "the import-msa set, texts from formats.msa and formats.msa_stats",
    "rnamsm.homology.infernal_cli": "CM files and cmalign's input sequences exchanged with Infernal's programs",
    "rnamsm.homology.pipeline": "the search set, texts from formats.msa and formats.msa_stats",
    "rnamsm.homology.prepared_db": "prepared database folders: FASTA shards, texts from formats.db_manifest",
    "rnamsm.homology.search_cache": "search.cache entries: copies of a search's files, bytes as written",
    "rnamsm.homology.shard_results": "finished shards' hits in the search's work folder (resume)",
    "rnamsm.homology.settings": "the search's YAML config file",
    "rnamsm.model.depth": "hhfilter's input and output, texts from and parsed by formats.msa",
    "rnamsm.model.export": "checkpoint folders (config.json, safetensors, vocab)",
    "rnamsm.model.hf_folder": "Hugging Face checkpoint folders",
    "rnamsm.report.batch_index": "the batch status table and the index HTML",
    "rnamsm.report.family_report": "the family report set: HTML, family.json, references from formats.structure",
    "rnamsm.report.html": "report HTML and its templates",
    "rnamsm.report.readers": "Snakemake benchmark tables",
}


def file_io_calls(path: Path) -> set[str]:
    calls = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Name) and function.id in IO_CALLS:
            calls.add(function.id)
        elif isinstance(function, ast.Attribute):
            owner = function.value.id if isinstance(function.value, ast.Name) else None
            if function.attr in IO_CALLS or function.attr in IO_CALLS_OF.get(owner, ()):
                calls.add(f"{owner}.{function.attr}" if owner else function.attr)
    return calls


def test_only_the_listed_modules_outside_formats_do_file_io() -> None:
    """A new module that opens or writes files outside rnamsm.formats must say here what it handles: a
    stage that starts parsing an interface file again fails this test."""
    doing_io = {name for name, path in modules().items()
                if not name.startswith("rnamsm.formats") and file_io_calls(path)}
    assert doing_io == set(FILE_IO_OUTSIDE_FORMATS)


def test_formats_modules_depend_on_the_standard_library_and_numpy_only() -> None:
    allowed = {"numpy"} | set(__import__("sys").stdlib_module_names)
    for name, path in modules().items():
        if not name.startswith("rnamsm.formats"):
            continue
        tree = ast.parse(path.read_text())
        roots = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names}
        roots |= {(node.module or "").split(".")[0] for node in ast.walk(tree)
                  if isinstance(node, ast.ImportFrom) and not node.level}
        assert roots - allowed - {"rnamsm", "__future__"} == set(), name
        assert {target for target in GRAPH[name] if layer_of(target) > 1} == set(), name
