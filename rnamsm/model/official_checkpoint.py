"""The official RNA-MSM Lightning checkpoint (``RNA_MSM_pretrained.ckpt``) read without running pickled code.

The file is ``{"state_dict": ...}`` with unprefixed keys and the 12-token vocabulary; its training
configs are pickled as ``__main__`` classes. It is read through :func:`rnamsm.safe_pickle.load_torch_file`:
anything but those config classes is refused, and they are replaced by inert stubs. The architecture
is inferred from the tensors.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from rnamsm.errors import RnamsmError
from rnamsm.model.alphabet import OFFICIAL_TOKENS
from rnamsm.model.rnamsm import RnaMsmConfig
from rnamsm.safe_pickle import UnreadablePickle, UnsafePickle, load_torch_file
from rnamsm.textfile import check_regular_file

#: Globals the official checkpoint pickles (training configs defined in ``__main__``); stubbed, never run.
EXPECTED_CONFIG_GLOBALS = frozenset(
    f"__main__.{name}"
    for name in ("Config", "OptimizerConfig", "MSATransformerModelConfig", "DataConfig", "TrainConfig",
                 "LoggingConfig")
)


def short_reason(error: BaseException) -> str:
    """The first sentence of an exception message, without terminal escapes, on one line."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip().replace("\n", " ") or type(error).__name__
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return sentence if len(sentence) <= 160 else sentence[:157] + "..."


def check_readable_file(path: Path) -> None:
    """Refuse a missing, special (FIFO, device) or empty weights file before torch or safetensors sees it."""
    check_regular_file(path, "a checkpoint file")
    if path.stat().st_size == 0:
        raise RnamsmError(f"{path}: empty file")


def read_official(path: Path, extra_globals: tuple[str, ...] = ()) -> dict[str, Any]:
    """Load an official-layout checkpoint file as a dict without executing pickled code.

    ``extra_globals`` are further pickle globals to stub (never to run).
    """
    check_readable_file(path)
    try:
        checkpoint = load_torch_file(path, EXPECTED_CONFIG_GLOBALS | set(extra_globals))
    except UnsafePickle as error:
        raise RnamsmError(f"{path}: refusing to load: {error} (only the official training-config classes are "
                          "stubbed)") from None
    except UnreadablePickle as error:
        raise RnamsmError(f"{path}: not a loadable checkpoint (truncated or corrupt: "
                          f"{short_reason(error.error)})") from None
    if not isinstance(checkpoint, dict):
        raise RnamsmError(f"{path}: expected a checkpoint dict, found {type(checkpoint).__name__}")
    return checkpoint


def official_state_dict(checkpoint: dict[str, Any], path: Path) -> dict[str, torch.Tensor]:
    """The tensors of an official checkpoint dict (a ``model.`` prefix on every key is dropped)."""
    state = checkpoint.get("state_dict", checkpoint)
    if not isinstance(state, dict) or not state:
        raise RnamsmError(f"{path}: no 'state_dict' with tensors in the checkpoint")
    if all(key.startswith("model.") for key in state):
        state = {key[len("model."):]: value for key, value in state.items()}
    bad = [key for key, value in state.items() if not isinstance(value, torch.Tensor)]
    if bad:
        raise RnamsmError(f"{path}: state_dict entry {bad[0]!r} is not a tensor")
    return state


def _find_attribute(objects: Any, name: str) -> Any:
    """First value of attribute ``name`` found in stub instances nested anywhere in ``objects``."""
    stack = [objects]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif hasattr(item, "__dict__") and not isinstance(item, torch.Tensor):
            if name in item.__dict__:
                return item.__dict__[name]
            stack.extend(item.__dict__.values())
    return None


def config_from_official(state: dict[str, torch.Tensor], path: Path, metadata: Any = None) -> RnaMsmConfig:
    """Infer the architecture from official tensors (heads from the contact-head width)."""
    required = ["embed_tokens.weight", "embed_positions.weight", "msa_position_embedding",
                "layers.0.feed_forward_layer.layer.fc1.weight", "contact_head.regression.weight"]
    missing = [key for key in required if key not in state]
    if missing:
        raise RnamsmError(f"{path}: missing keys {', '.join(missing)} (not an RNA-MSM checkpoint?)")
    vocab_size, dim = state["embed_tokens.weight"].shape
    if vocab_size != len(OFFICIAL_TOKENS):
        raise RnamsmError(
            f"{path}: embed_tokens.weight has {vocab_size} rows; the official layout has the "
            f"{len(OFFICIAL_TOKENS)}-token vocabulary (a Hugging Face export needs its folder with vocab.txt)"
        )
    layers = 1 + max(int(key.split(".")[1]) for key in state if key.startswith("layers."))
    maps = state["contact_head.regression.weight"].shape[-1]
    if maps % layers:
        raise RnamsmError(f"{path}: contact_head.regression.weight width {maps} is not a multiple of {layers} layers")
    heads = maps // layers
    declared = _find_attribute(metadata, "num_attention_heads")
    if isinstance(declared, int) and declared != heads:
        raise RnamsmError(f"{path}: the pickled config says {declared} heads, the tensors imply {heads}")
    if dim % heads:
        raise RnamsmError(f"{path}: hidden size {dim} is not divisible by {heads} heads")
    return RnaMsmConfig(
        num_layers=layers, embed_dim=dim, num_heads=heads,
        ffn_dim=state["layers.0.feed_forward_layer.layer.fc1.weight"].shape[0],
        max_positions=state["embed_positions.weight"].shape[0] - 2,
        max_rows=state["msa_position_embedding"].shape[1],
    )
