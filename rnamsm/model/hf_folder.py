"""A Hugging Face RNA-MSM folder in multimolecule's layout, read into the official layout.

The folder holds ``config.json``, ``model.safetensors`` (or ``pytorch_model.bin``, read through the
official loader's safe unpickling) and ``vocab.txt``, whose order differs between releases, so the 12
official rows are picked by token string.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rnamsm.errors import RnamsmError
from rnamsm.model.convert import hf_to_official
from rnamsm.model.official_checkpoint import check_readable_file, read_official, short_reason
from rnamsm.model.rnamsm import RnaMsmConfig
from rnamsm.textfile import read_json_object, read_text

HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def read_vocab(path: Path) -> list[str]:
    """Tokens of a ``vocab.txt``, one per line (trailing blank line ignored)."""
    if not path.is_file():
        raise RnamsmError(f"{path}: missing; a Hugging Face checkpoint folder must hold its vocab.txt "
                          "(the vocabulary order differs between multimolecule releases)")
    tokens = read_text(path, "a vocabulary (vocab.txt)").split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    tokens = [token.rstrip("\r") for token in tokens]
    if len(set(tokens)) != len(tokens):
        raise RnamsmError(f"{path}: duplicate tokens in the vocabulary")
    return tokens


@dataclass(frozen=True)
class HfFolder:
    """A multimolecule folder read into the official layout (plus what an exact re-export needs)."""

    config: RnaMsmConfig
    state: dict[str, torch.Tensor]
    vocab: list[str]
    hf_config: dict[str, Any]
    weights: Path
    #: The full-vocabulary rows ``(V, D)`` and ``(V,)`` (the official state keeps 12 of them).
    word_embeddings: torch.Tensor
    lm_bias: torch.Tensor


def read_hf_folder(folder: Path, hf_eps_parity: bool = False) -> HfFolder:
    """Read a multimolecule folder (``config.json``, weights, ``vocab.txt``) into the official layout."""
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise RnamsmError(f"{folder}: no config.json (expected a Hugging Face RNA-MSM folder)")
    hf_config = read_json_object(config_path, "a Hugging Face config.json")
    if hf_config.get("model_type") != "rnamsm":
        raise RnamsmError(f"{config_path}: model_type is {hf_config.get('model_type')!r}, expected 'rnamsm'")
    if hf_config.get("embed_positions_msa") is False:
        raise RnamsmError(f"{config_path}: embed_positions_msa=false is not an RNA-MSM layout we support")
    weights = next((folder / name for name in HF_WEIGHT_FILES if (folder / name).is_file()), None)
    if weights is None:
        raise RnamsmError(f"{folder}: no weights file (expected {' or '.join(HF_WEIGHT_FILES)})")
    vocab = read_vocab(folder / "vocab.txt")
    state = _read_hf_weights(weights)
    embeddings = next((value for key, value in state.items() if key.endswith("embeddings.word_embeddings.weight")),
                      None)
    if embeddings is None:
        raise RnamsmError(f"{weights}: missing keys model.embeddings.word_embeddings.weight")
    if embeddings.shape[0] != len(vocab):
        raise RnamsmError(f"{folder / 'vocab.txt'}: {len(vocab)} tokens but the word embeddings have "
                          f"{embeddings.shape[0]} rows (wrong vocab.txt for these weights)")
    if "vocab_size" in hf_config and hf_config["vocab_size"] != len(vocab):
        raise RnamsmError(f"{folder / 'vocab.txt'}: {len(vocab)} tokens but config.json says "
                          f"vocab_size={hf_config['vocab_size']}")
    try:
        official, unknown = hf_to_official(state, vocab)
    except KeyError as error:
        raise RnamsmError(f"{folder / 'vocab.txt'}: the vocabulary lacks official token(s) {error.args[0]}") from None
    if unknown:
        raise RnamsmError(f"{weights}: unexpected keys {', '.join(sorted(unknown)[:5])}")
    try:
        dims = {key: int(hf_config[key]) for key in
                ("num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size")}
    except (KeyError, TypeError, ValueError) as error:
        raise RnamsmError(f"{config_path}: missing or invalid {error}") from None
    eps = float(hf_config.get("layer_norm_eps", 1e-5))
    head_eps = float((hf_config.get("lm_head") or {}).get("layer_norm_eps", eps))
    msa_rows = official.get("msa_position_embedding")
    config = RnaMsmConfig(
        num_layers=dims["num_hidden_layers"], embed_dim=dims["hidden_size"], num_heads=dims["num_attention_heads"],
        ffn_dim=dims["intermediate_size"],
        max_positions=int(hf_config.get("max_position_embeddings", 1024)),
        max_rows=msa_rows.shape[1] if msa_rows is not None and msa_rows.ndim == 4 else 1024,
        emb_layer_norm_eps=eps if hf_eps_parity else 1e-5,
        final_layer_norm_eps=eps if hf_eps_parity else 1e-5,
        lm_head_layer_norm_eps=head_eps if hf_eps_parity else 1e-5,
        max_tokens_per_msa=int(hf_config.get("max_tokens_per_msa", 16384)),
    )
    return HfFolder(config, official, vocab, hf_config, weights, embeddings, _hf_lm_bias(state, weights))


def _hf_lm_bias(state: dict[str, torch.Tensor], weights: Path) -> torch.Tensor:
    if "lm_head.bias" not in state:
        raise RnamsmError(f"{weights}: missing keys lm_head.bias")
    return state["lm_head.bias"]


def _read_hf_weights(path: Path) -> dict[str, torch.Tensor]:
    check_readable_file(path)
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError, RuntimeError) as error:
            raise RnamsmError(
                f"{path}: not a readable safetensors file (truncated or corrupt: {short_reason(error)})"
            ) from None
    state = read_official(path, extra_globals=())
    return {key: value for key, value in state.items() if isinstance(value, torch.Tensor)}
