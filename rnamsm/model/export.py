"""Writing checkpoints: official layout, multimolecule (Hugging Face) folder, conversion, demo weights.

Conversion is exact in both directions: an official file written from an HF folder carries the folder's
full vocabulary rows and ``config.json`` under the extra key ``"rnamsm"`` (the official loader ignores
it), so converting back reproduces the folder's tensors; official -> HF -> official returns the
original tensors because the 12 official rows are picked back by name.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from rnamsm.atomic import atomic_path, atomic_paths, check_output_targets
from rnamsm.errors import RnamsmError
from rnamsm.model.checkpoint import build_model, read_checkpoint
from rnamsm.model.convert import HF_VOCAB, expand_vocabulary, official_to_hf
from rnamsm.model.rnamsm import RnaMsm, RnaMsmConfig
from rnamsm.options import check_seed

#: The demo model of the workflow: 2 layers, hidden 64, 4 heads, FFN 256 (8 attention maps).
DEMO_CONFIG = RnaMsmConfig(num_layers=2, embed_dim=64, num_heads=4, ffn_dim=256)
FORMATS = ("hf", "official")


def hf_config_for(config: RnaMsmConfig, vocab: tuple[str, ...] | list[str], untrained: bool = False) -> dict[str, Any]:
    """A multimolecule-compatible ``config.json`` (axial layers, official 1e-5 LayerNorm epsilons)."""
    ids = {token: index for index, token in enumerate(vocab)}
    hf: dict[str, Any] = {
        "architectures": ["RnaMsmForPreTraining"],
        "model_type": "rnamsm",
        "vocab_size": len(vocab),
        "hidden_size": config.embed_dim,
        "num_hidden_layers": config.num_layers,
        "num_attention_heads": config.num_heads,
        "intermediate_size": config.ffn_dim,
        "max_position_embeddings": config.max_positions,
        "max_tokens_per_msa": config.max_tokens_per_msa,
        "hidden_act": "gelu",
        "hidden_dropout": 0.1,
        "attention_dropout": 0.1,
        "layer_norm_eps": config.emb_layer_norm_eps,
        "embed_positions_msa": True,
        "attention_bias": True,
        "attention_type": "standard",
        "layer_type": "axial",
        "tie_word_embeddings": True,
        "num_labels": 1,
        "lm_head": {"transform": "nonlinear", "transform_act": "gelu", "bias": True,
                    "layer_norm_eps": config.lm_head_layer_norm_eps},
    }
    for name, token in (("pad", "<pad>"), ("bos", "<cls>"), ("eos", "<eos>"), ("unk", "<unk>"), ("mask", "<mask>"),
                        ("null", "<null>")):
        if token in ids:
            hf[f"{name}_token_id"] = ids[token]
    if untrained:
        hf["rnamsm_untrained"] = True
    return hf


def _tokenizer_config() -> dict[str, Any]:
    return {"tokenizer_class": "RnaTokenizer", "bos_token": "<cls>", "cls_token": "<cls>", "eos_token": None,
            "pad_token": "<pad>", "unk_token": "<unk>", "mask_token": "<mask>", "sep_token": "<eos>",
            "replace_T_with_U": True, "nmers": 1, "codon": False}


def write_hf_folder(folder: str | os.PathLike[str], state: dict[str, torch.Tensor], hf_config: dict[str, Any],
                    vocab: tuple[str, ...] | list[str], word_embeddings: torch.Tensor | None = None,
                    lm_bias: torch.Tensor | None = None) -> Path:
    """Write an official-layout ``state`` as a multimolecule folder, its four files as one atomic set."""
    from safetensors.torch import save_file

    folder = Path(folder)
    targets = [folder / name for name in ("model.safetensors", "config.json", "tokenizer_config.json", "vocab.txt")]
    check_output_targets(*targets)
    if word_embeddings is None or lm_bias is None:
        word_embeddings, lm_bias = expand_vocabulary(state["embed_tokens.weight"], state["lm_head.bias"], tuple(vocab))
    tensors = official_to_hf(state, word_embeddings, lm_bias)
    with atomic_paths(*targets) as (weights, config, tokenizer, vocab_file):  # one set: all four files or none
        save_file(tensors, str(weights), metadata={"format": "pt"})
        for path, content in ((config, hf_config), (tokenizer, _tokenizer_config())):
            path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        vocab_file.write_text("\n".join(vocab), encoding="utf-8")
    return folder


def write_official(path: str | os.PathLike[str], state: dict[str, torch.Tensor],
                   extras: dict[str, Any] | None = None) -> Path:
    """Write ``{"state_dict": state[, "rnamsm": extras]}`` with ``lm_head.weight`` tied, atomically."""
    state = dict(state)
    state["lm_head.weight"] = state["embed_tokens.weight"]
    checkpoint: dict[str, Any] = {"state_dict": state}
    if extras:
        checkpoint["rnamsm"] = extras
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)
    return Path(path)


def convert_checkpoint(source: str, out: str | os.PathLike[str], to: str) -> Path:
    """Convert ``source`` (any :func:`~rnamsm.model.load_checkpoint` source) to the ``to`` layout at ``out``."""
    if to not in FORMATS:
        raise RnamsmError(f"unknown checkpoint format {to!r}; choose {' or '.join(FORMATS)}")
    config, state, info = read_checkpoint(source)
    build_model(config, state, info.weights_path)  # validates keys, shapes and the tie
    state = {key: value for key, value in state.items() if key != "lm_head.weight"}
    extras = info.metadata.get("rnamsm") if info.format == "official" else None
    if to == "official":
        if info.format == "official":
            return write_official(out, state, extras)
        return write_official(out, state, {
            "hf_config": json.dumps(info.metadata["config"], sort_keys=True),
            "hf_vocab": list(info.vocab),
            "hf_word_embeddings": info.metadata["word_embeddings"],
            "hf_lm_bias": info.metadata["lm_bias"],
            "untrained": info.untrained,
        })
    if info.format != "official":
        return write_hf_folder(out, state, info.metadata["config"], info.vocab, info.metadata["word_embeddings"],
                               info.metadata["lm_bias"])
    if isinstance(extras, dict) and "hf_vocab" in extras:
        return write_hf_folder(out, state, json.loads(extras["hf_config"]), extras["hf_vocab"],
                               extras["hf_word_embeddings"], extras["hf_lm_bias"])
    return write_hf_folder(out, state, hf_config_for(config, HF_VOCAB, info.untrained), HF_VOCAB)


def demo_state(config: RnaMsmConfig = DEMO_CONFIG, seed: int = 0, matrix_std: float = 0.05) -> dict[str, torch.Tensor]:
    """Random official-layout weights: LayerNorm weights 1+0.1N, biases 0.02N, row scalars 0.1N, matrices
    ``matrix_std``·N (the oracle's 0.05 by default; 0.02 is the initialisation range of the official code)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.device("meta"):
        shapes = {key: value.shape for key, value in RnaMsm(config).state_dict().items() if key != "lm_head.weight"}
    state = {}
    for key, shape in shapes.items():
        noise = torch.randn(shape, generator=generator)
        if "layer_norm" in key and key.endswith(".weight"):
            state[key] = 1 + 0.1 * noise
        elif key.endswith("bias"):
            state[key] = 0.02 * noise
        elif key == "msa_position_embedding":
            state[key] = 0.1 * noise
        else:
            state[key] = matrix_std * noise
    return state


def make_demo_checkpoint(out: str | os.PathLike[str], seed: int = 0, fmt: str = "hf") -> Path:
    """Write the tiny randomly initialised demo model (marked ``rnamsm_untrained``); same seed, same bytes."""
    state = demo_state(DEMO_CONFIG, check_seed(seed))
    if fmt == "hf":
        return write_hf_folder(out, state, hf_config_for(DEMO_CONFIG, HF_VOCAB, untrained=True), HF_VOCAB)
    if fmt == "official":
        return write_official(out, state, {"untrained": True})
    raise RnamsmError(f"unknown checkpoint format {fmt!r}; choose {' or '.join(FORMATS)}")
