"""Safe unpickling (``rnamsm.safe_pickle``): hostile pickles are refused before anything runs, in every loader."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from rnamsm.errors import RnamsmError
from rnamsm.heads.official_formats import ALLOWED_STATISTICS_GLOBALS, load_official_rsa, load_official_ss
from rnamsm.safe_pickle import UnreadablePickle, UnsafePickle, load_plain_pickle, load_torch_file, pickle_globals


class _CreatesFile:
    """Unpickling this would create a file: the marker must never appear."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


class Recorded:
    """A class whose own ``__setstate__`` would create a file; as an allowed global it must be stubbed."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.layers = [1, 2]

    def __setstate__(self, state: dict) -> None:
        Path(state["marker"]).write_text("ran")


def _hostile(tmp_path: Path, layout: str) -> Path:
    """A file that would create ``pwned-<layout>`` when unpickled: torch zip, torch legacy or raw pickle."""
    payload = {"state_dict": {"w": torch.zeros(2)}, "x": _CreatesFile(str(tmp_path / f"pwned-{layout}"))}
    path = tmp_path / f"{layout}.pt"
    if layout == "raw":
        path.write_bytes(pickle.dumps(payload, protocol=2))
    else:
        torch.save(payload, path, _use_new_zipfile_serialization=layout == "zip")
    return path


@pytest.mark.parametrize("layout", ["zip", "legacy", "raw"])
def test_hostile_torch_files_are_refused_naming_the_global(tmp_path, layout) -> None:
    path = _hostile(tmp_path, layout)
    with pytest.raises(UnsafePickle) as error:
        load_torch_file(path, allowed={"__main__.Config"})
    assert any(name.endswith(".open") for name in error.value.names), error.value.names
    assert not (tmp_path / f"pwned-{layout}").exists()


@pytest.mark.parametrize("layout", ["zip", "legacy", "raw"])
def test_head_loaders_refuse_hostile_files_the_same_way(tmp_path, layout) -> None:
    """The official SS and RSA head loaders both say what they refused (were 'not a loadable SS state_dict:
    Weights only load failed...' and, for legacy and raw RSA files, 'not a torch checkpoint')."""
    path = _hostile(tmp_path, layout)
    for loader in (load_official_ss, load_official_rsa):
        with pytest.raises(RnamsmError, match=rf"^{path}: refusing to load: unexpected pickled globals \S*open"):
            loader(path)
    assert not (tmp_path / f"pwned-{layout}").exists()


def test_plain_state_dict_loads_and_allowed_globals_become_inert_stubs(tmp_path) -> None:
    state = torch.nn.Linear(3, 2).state_dict()
    torch.save(dict(state), tmp_path / "ss.pt")
    loaded = load_torch_file(tmp_path / "ss.pt", allowed=())
    assert loaded.keys() == state.keys() and all(torch.equal(loaded[key], state[key]) for key in state)
    marker = tmp_path / "ran"
    torch.save({"config": Recorded(str(marker))}, tmp_path / "config.pt")
    with pytest.raises(UnsafePickle, match="tests.unit.test_safe_pickle.Recorded"):
        load_torch_file(tmp_path / "config.pt", allowed=())
    stub = load_torch_file(tmp_path / "config.pt", allowed={f"{__name__}.Recorded"})["config"]
    assert type(stub) is not Recorded and type(stub).__qualname__ == "Recorded"
    assert stub.layers == [1, 2] and stub.marker == str(marker) and not marker.exists()


def test_pickle_globals_lists_without_running(tmp_path) -> None:
    path = _hostile(tmp_path, "legacy")
    names = pickle_globals(path)
    assert any(name.endswith(".open") for name in names) and "torch._utils._rebuild_tensor_v2" in names
    assert not (tmp_path / "pwned-legacy").exists()


def test_plain_pickles_resolve_only_the_allow_list(tmp_path) -> None:
    good = tmp_path / "stats.pickle"
    good.write_bytes(pickle.dumps({"mu": np.arange(3.0), "std": np.ones(3)}, protocol=4))
    content = load_plain_pickle(good, ALLOWED_STATISTICS_GLOBALS)
    assert np.array_equal(content["mu"], np.arange(3.0))
    hostile = tmp_path / "hostile.pickle"
    hostile.write_bytes(pickle.dumps({"mu": _CreatesFile(str(tmp_path / "pwned"))}))
    with pytest.raises(UnsafePickle, match="open, which could run code"):
        load_plain_pickle(hostile, ALLOWED_STATISTICS_GLOBALS)
    assert not (tmp_path / "pwned").exists()
    truncated = tmp_path / "truncated.pickle"
    truncated.write_bytes(good.read_bytes()[:40])
    with pytest.raises(UnreadablePickle):
        load_plain_pickle(truncated, ALLOWED_STATISTICS_GLOBALS)
