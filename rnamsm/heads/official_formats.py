"""Reading (and, for tests and export, writing) the official RNA-MSM head files without running pickled code.

- SS: ``model/rna-msm_attention.pt``, a plain ``state_dict`` (no globals but torch's tensor rebuilding),
  read through :func:`rnamsm.safe_pickle.load_torch_file`.
- RSA: ``model_pcc_*.pt``, *pickled whole modules* (``model._0811.model_entry.FrameModel``), read
  through :func:`rnamsm.safe_pickle.load_torch_file`: only the 12 known class names are accepted, each
  replaced by an inert stub that merely stores its pickled state. The module tree rebuilt from the
  stubs must match the expected layout class by class, and only its tensors are kept.
- RSA statistics pickles: :func:`rnamsm.safe_pickle.load_plain_pickle`, resolving nothing but NumPy's
  array-reconstruction names.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rnamsm.atomic import atomic_path
from rnamsm.errors import RnamsmError
from rnamsm.heads.rsa_net import (
    NUM_ATTENTION_HEADS,
    MaskedSelfAttention,
    RSANet,
    RsaStatistics,
    SEResBlock1d,
    TransformerBlock,
)
from rnamsm.heads.ss_resnet import SSResNet
from rnamsm.safe_pickle import UnreadablePickle, UnsafePickle, load_plain_pickle, load_torch_file

#: Official class of each of our RSA module classes (the pickled names of the official files).
OFFICIAL_RSA_CLASSES: dict[type[nn.Module], str] = {
    RSANet: "model._0811.model_entry.FrameModel",
    nn.ModuleList: "model._0811.model_entry.WrapLayers",
    SEResBlock1d: "model._0713.resnet.BasicBlock",
    TransformerBlock: "model._0713.mingpt.Block",
    MaskedSelfAttention: "model._0713.mingpt.SelfAttention",
    nn.Conv1d: "torch.nn.modules.conv.Conv1d",
    nn.BatchNorm1d: "torch.nn.modules.batchnorm.BatchNorm1d",
    nn.Dropout: "torch.nn.modules.dropout.Dropout",
    nn.Linear: "torch.nn.modules.linear.Linear",
    nn.LayerNorm: "torch.nn.modules.normalization.LayerNorm",
    nn.GELU: "torch.nn.modules.activation.GELU",
    nn.Sequential: "torch.nn.modules.container.Sequential",
}
#: The only globals an official RSA module file may name.
EXPECTED_RSA_GLOBALS = frozenset(OFFICIAL_RSA_CLASSES.values())
#: NumPy names a statistics pickle may resolve (both the NumPy 1 and NumPy 2 spellings).
ALLOWED_STATISTICS_GLOBALS = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }
)
#: Layer-norm and batch-norm epsilon of the official heads.
OFFICIAL_EPS = 1e-5


def _first_line(error: BaseException) -> str:
    """The first line of an exception message (its type name when the message is empty)."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _check_file(path: str | os.PathLike[str], what: str) -> None:
    """Refuse a missing path, a directory or an empty file before torch sees it."""
    path = Path(path)
    if not path.exists():
        raise RnamsmError(f"{path}: no such file, expected {what}")
    if path.is_dir():
        raise RnamsmError(f"{path}: is a directory, expected {what}")
    if path.stat().st_size == 0:
        raise RnamsmError(f"{path}: empty file, expected {what}")


# --- SS: plain state_dict -----------------------------------------------------------------------


def load_official_ss(path: str | os.PathLike[str]) -> SSResNet:
    """Load ``rna-msm_attention.pt`` (or a file in its layout) with ``weights_only=True``."""
    _check_file(path, "an SS head file (rna-msm_attention.pt)")
    try:
        state = load_torch_file(path, allowed=())
    except UnsafePickle as error:
        raise RnamsmError(f"{path}: refusing to load: unexpected pickled globals {', '.join(error.names)}") from None
    except UnreadablePickle as error:
        raise RnamsmError(f"{path}: not a loadable SS state_dict: {_first_line(error.error)}") from None
    if not isinstance(state, dict) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise RnamsmError(f"{path}: expected a state_dict of tensors for the SS head")
    try:
        return SSResNet.from_state_dict(dict(state))
    except (KeyError, RuntimeError) as error:
        raise RnamsmError(f"{path}: not in the SS head layout: {str(error).splitlines()[0]}") from None


def save_official_ss(model: SSResNet, path: str | os.PathLike[str]) -> None:
    """Write an SS head as the official plain ``state_dict`` file."""
    with atomic_path(path) as tmp:
        torch.save({key: value.detach().clone() for key, value in model.state_dict().items()}, tmp)


# --- RSA: pickled whole modules -----------------------------------------------------------------


def _stub_state(node: Any, path: str, source: str) -> dict[str, Any]:
    """The pickled state a stub recorded (the module's ``__dict__``), checked to be a torch module's."""
    state = node.__dict__ if hasattr(node, "__dict__") else None
    if not isinstance(state, dict) or not all(
        isinstance(state.get(slot), dict) for slot in ("_modules", "_parameters", "_buffers")
    ):
        raise RnamsmError(f"{source}: module '{path or '<root>'}' is not a pickled torch module")
    return state


def _check_hyperparameters(state: dict[str, Any], official: str, path: str, source: str) -> None:
    """Refuse settings our re-implementation does not reproduce."""
    expected: dict[str, Any] = {}
    if official.endswith(("BatchNorm1d", "LayerNorm")):
        expected["eps"] = OFFICIAL_EPS
    if official.endswith("SelfAttention"):
        expected["n_head"] = NUM_ATTENTION_HEADS
    if official.endswith("Conv1d"):
        expected.update(stride=(1,), dilation=(1,), groups=1)
    if official.endswith("GELU") and "approximate" in state:
        expected["approximate"] = "none"
    for name, value in expected.items():
        if state.get(name) != value:
            raise RnamsmError(f"{source}: module '{path}' has {name}={state.get(name)!r}, expected {value!r}")


def _rsa_shapes(root_state: dict[str, Any], source: str) -> tuple[int, int, int]:
    """(in_channels, planes, depth) read from the stub tree before building the expected layout."""
    try:
        net = vars(root_state["_modules"]["net"])["_modules"]
        conv1 = vars(vars(vars(net["0"])["_modules"]["0"])["_modules"]["conv1"])
        planes, in_channels = conv1["_parameters"]["weight"].shape[:2]
        depth = len(vars(net["1"])["_modules"])
    except (KeyError, AttributeError, TypeError, ValueError):
        raise RnamsmError(f"{source}: not an RNA-MSM RSA module (net.0.0.conv1 / net.1 not found)") from None
    return int(in_channels), int(planes), depth


def load_official_rsa(path: str | os.PathLike[str]) -> RSANet:
    """Rebuild an RSA network from an official pickled-module file without executing pickled code."""
    source = str(path)
    _check_file(path, "an RSA head file (model_pcc_*.pt)")
    try:
        root = load_torch_file(path, EXPECTED_RSA_GLOBALS)
    except UnsafePickle as error:
        raise RnamsmError(f"{source}: refusing to load: unexpected pickled globals {', '.join(error.names)}") from None
    except UnreadablePickle as error:
        raise RnamsmError(f"{source}: not a torch checkpoint: {_first_line(error.error)}") from None
    root_name = f"{type(root).__module__}.{type(root).__qualname__}"
    if root_name != OFFICIAL_RSA_CLASSES[RSANet]:
        raise RnamsmError(f"{source}: top-level object is {root_name}, expected {OFFICIAL_RSA_CLASSES[RSANet]}")
    template = RSANet(*_rsa_shapes(_stub_state(root, "", source), source))
    expected_modules = dict(template.named_modules())
    state_dict: dict[str, torch.Tensor] = {}
    seen: set[str] = set()

    def walk(node: Any, path: str) -> None:
        state = _stub_state(node, path, source)
        official = f"{type(node).__module__}.{type(node).__qualname__}"
        if path not in expected_modules or OFFICIAL_RSA_CLASSES[type(expected_modules[path])] != official:
            raise RnamsmError(f"{source}: unexpected module '{path}' of class {official}")
        _check_hyperparameters(state, official, path, source)
        seen.add(path)
        prefix = f"{path}." if path else ""
        for slot in ("_parameters", "_buffers"):
            for name, tensor in state[slot].items():
                if tensor is None:
                    continue
                if not isinstance(tensor, torch.Tensor):
                    raise RnamsmError(f"{source}: '{prefix}{name}' is not a tensor")
                state_dict[prefix + name] = tensor.detach().clone()
        for name, child in state["_modules"].items():
            walk(child, prefix + name)

    walk(root, "")
    missing = sorted(set(expected_modules) - seen)
    if missing:
        raise RnamsmError(f"{source}: module '{missing[0]}' is missing")
    try:
        template.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:
        raise RnamsmError(f"{source}: tensors do not fit the RSA layout: {str(error).splitlines()[0]}") from None
    return template.eval()


@contextlib.contextmanager
def _official_class_namespace() -> Iterator[dict[str, type]]:
    """Temporarily register importable classes under the official module names (for writing only)."""
    classes: dict[str, type] = {}
    added: dict[str, types.ModuleType | None] = {}
    for full_name in sorted(EXPECTED_RSA_GLOBALS):
        if full_name.startswith("torch."):
            continue
        module_name, _, qualname = full_name.rpartition(".")
        parts = module_name.split(".")
        for depth in range(1, len(parts) + 1):
            name = ".".join(parts[:depth])
            if name not in added:
                added[name] = sys.modules.get(name)
                sys.modules[name] = types.ModuleType(name)
        cls = type(qualname, (nn.Module,), {"__module__": module_name, "__qualname__": qualname})
        setattr(sys.modules[module_name], qualname, cls)
        classes[full_name] = cls
    try:
        yield classes
    finally:
        for name, previous in added.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous


def save_official_rsa(model: RSANet, path: str | os.PathLike[str]) -> None:
    """Write an RSA network as an official-layout pickled ``FrameModel`` (tests and export).

    Standard torch layers are pickled as they are; our own containers and blocks are re-created as
    instances of classes with the official names, holding the same attributes and tensors.
    """
    with _official_class_namespace() as classes:

        def mirror(module: nn.Module) -> nn.Module:
            official = OFFICIAL_RSA_CLASSES[type(module)]
            if official.startswith("torch."):
                return module
            copy = classes[official].__new__(classes[official])
            copy.__dict__.update(module.__dict__)
            copy.__dict__["_modules"] = {name: mirror(child) for name, child in module._modules.items()}
            if isinstance(module, MaskedSelfAttention):
                copy.__dict__["n_head"] = module.num_heads
            if isinstance(module, RSANet):
                copy.__dict__.update(in_planes=model.final.in_features, mask=True, keepdim=4, reducedim=None)
            return copy

        with atomic_path(path) as tmp:
            torch.save(mirror(model), tmp)


# --- RSA statistics pickles ---------------------------------------------------------------------


def load_statistics_pickle(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read ``mu`` and ``std`` from an official statistics pickle -> ((n,), (n,)) in their own dtype."""
    try:
        content = load_plain_pickle(path, ALLOWED_STATISTICS_GLOBALS)
    except (UnsafePickle, UnreadablePickle) as error:
        raise RnamsmError(f"{path}: refusing to read statistics pickle: {error}") from None
    if not isinstance(content, dict) or not {"mu", "std"} <= content.keys():
        raise RnamsmError(f"{path}: statistics pickle must be a dict with 'mu' and 'std'")
    mean, std = content["mu"], content["std"]
    for name, array in (("mu", mean), ("std", std)):
        if not isinstance(array, np.ndarray) or array.ndim != 1 or array.dtype.kind != "f":
            raise RnamsmError(f"{path}: '{name}' must be a 1-D float array")
    if mean.shape != std.shape or not np.all(std > 0):
        raise RnamsmError(f"{path}: 'mu' and 'std' must have equal lengths and std > 0")
    return mean, std


def save_statistics_pickle(mean: np.ndarray, std: np.ndarray, path: str | os.PathLike[str]) -> None:
    """Write a statistics pickle in the official layout (tests and export)."""
    content = {"mu": mean, "std": std, "min": np.float64(0.0), "max": np.float64(1.0), "count": 0}
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        pickle.dump(content, handle, protocol=4)


def statistics_from_pickles(paths: list[Path]) -> RsaStatistics:
    """Combine statistics pickles: a 4-long one is the one-hot's, any other the embedding's."""
    embedding: tuple[np.ndarray, np.ndarray] | None = None
    onehot: tuple[np.ndarray, np.ndarray] | None = None
    for path in paths:
        mean, std = load_statistics_pickle(path)
        if len(mean) == 4:
            onehot = (mean.astype(np.float64), std.astype(np.float64))
        else:
            embedding = (mean.astype(np.float32), std.astype(np.float32))
    if embedding is None:
        raise RnamsmError(f"{', '.join(map(str, paths))}: no embedding statistics among the pickles")
    return RsaStatistics(embedding[0], embedding[1], *(onehot or (None, None)))
