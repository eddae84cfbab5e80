"""Key and vocabulary conversion between the official layout and multimolecule's Hugging Face layout.

Official keys (``RNA_MSM_pretrained.ckpt``) are what :class:`~rnamsm.model.rnamsm.RnaMsm` uses. The
multimolecule layout renames them (spec 6.3) and stores a larger vocabulary whose order changed between
releases, so rows are always matched *by token string* from the folder's ``vocab.txt``.

- HF -> official keeps the 12 official rows and is lossless for the model.
- Official -> HF follows multimolecule's ``convert_word_embeddings``: N(0, 0.02) rows from seed 1016,
  the 12 shared tokens copied, each IUPAC row the mean of its nucleotides' rows, the rest random.
"""

from __future__ import annotations

import re

import torch

from rnamsm.model.alphabet import OFFICIAL_TOKENS

#: multimolecule 0.2.x vocabulary (the order written by our exports).
HF_VOCAB: tuple[str, ...] = (
    "<pad>", "<cls>", "<eos>", "<unk>", "<mask>", "<null>", "A", "C", "G", "U", "N", "R", "Y", "S", "W", "K", "M",
    "B", "D", "H", "V", "I", "X", "|", ".", "*", "-", "?",
)
#: IUPAC rows that multimolecule initialises as the mean of their nucleotides' rows.
IUPAC_MEANS: dict[str, str] = {
    "R": "AG", "Y": "CU", "S": "CG", "W": "AU", "K": "GU", "M": "AC", "B": "CGU", "D": "AGU", "H": "ACU", "V": "ACG",
}
EXPORT_SEED = 1016
EXPORT_STD = 0.02

#: Official prefix -> HF prefix (applied to the start of the key, first match wins).
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("embed_tokens.weight", "model.embeddings.word_embeddings.weight"),
    ("embed_positions.weight", "model.embeddings.position_embeddings.weight"),
    ("msa_position_embedding", "model.embeddings.msa_embeddings"),
    ("emb_layer_norm_before.", "model.embeddings.layer_norm."),
    ("emb_layer_norm_after.", "model.encoder.layer_norm."),
    ("layers.", "model.encoder.layer."),
    ("lm_head.dense.", "lm_head.transform.dense."),
    ("lm_head.layer_norm.", "lm_head.transform.layer_norm."),
    ("lm_head.bias", "lm_head.bias"),
    ("contact_head.regression.", "ss_head.decoder."),
)
#: HF keys that carry nothing the official model uses.
_IGNORED_HF = re.compile(r"^(model\.)?pooler\.|^lm_head\.decoder\.")
#: Older or base-model exports may name the backbone without ``model.`` (or with ``rnamsm.``).
_BACKBONE = re.compile(r"^(?:model\.|rnamsm\.)?((?:embeddings|encoder)\..*)$")


def official_key_to_hf(key: str) -> str:
    """Map one official key to its multimolecule name (``lm_head.weight`` is tied and not stored)."""
    for official, hf in _PREFIXES:
        if key.startswith(official):
            return hf + key[len(official):]
    raise KeyError(key)


def hf_key_to_official(key: str) -> str | None:
    """Map one multimolecule key to the official name; None for keys to ignore; KeyError when unknown."""
    if _IGNORED_HF.match(key):
        return None
    backbone = _BACKBONE.match(key)
    if backbone:
        key = "model." + backbone.group(1)
    for official, hf in _PREFIXES:
        if key.startswith(hf):
            return official + key[len(hf):]
    raise KeyError(key)


def vocab_rows(vocab: list[str] | tuple[str, ...], tokens: tuple[str, ...] = OFFICIAL_TOKENS) -> list[int]:
    """Index in ``vocab`` of each of ``tokens`` (KeyError naming the first missing token)."""
    index = {token: position for position, token in enumerate(vocab)}
    missing = [token for token in tokens if token not in index]
    if missing:
        raise KeyError(", ".join(missing))
    return [index[token] for token in tokens]


def hf_to_official(state: dict[str, torch.Tensor], vocab: list[str]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Rename an HF state dict to the official layout, picking the 12 official vocabulary rows by name.

    Returns ``(state_dict, unknown_keys)``; ``lm_head.weight`` is tied to ``embed_tokens.weight``.
    """
    rows = vocab_rows(vocab)
    official: dict[str, torch.Tensor] = {}
    unknown: list[str] = []
    for key, value in state.items():
        try:
            name = hf_key_to_official(key)
        except KeyError:
            unknown.append(key)
            continue
        if name is None:
            continue
        if name in ("embed_tokens.weight", "lm_head.bias"):
            value = value[rows].clone()
        official[name] = value
    if "embed_tokens.weight" in official:
        official["lm_head.weight"] = official["embed_tokens.weight"]
    return official, unknown


def expand_vocabulary(embedding: torch.Tensor, bias: torch.Tensor,
                      vocab: tuple[str, ...] = HF_VOCAB) -> tuple[torch.Tensor, torch.Tensor]:
    """Official 12-row embedding ``(12, D)`` and LM bias ``(12,)`` -> rows for ``vocab`` (multimolecule's rule)."""
    generator = torch.Generator().manual_seed(EXPORT_SEED)
    new_embedding = torch.randn((len(vocab), embedding.shape[1]), generator=generator).mul_(EXPORT_STD)
    new_embedding = new_embedding.to(embedding.dtype)
    new_bias = torch.zeros(len(vocab), dtype=bias.dtype)
    position = {token: index for index, token in enumerate(vocab)}
    for official_index, token in enumerate(OFFICIAL_TOKENS):
        if token in position:
            new_embedding[position[token]] = embedding[official_index]
            new_bias[position[token]] = bias[official_index]
    for code, bases in IUPAC_MEANS.items():
        if code in position:
            members = [OFFICIAL_TOKENS.index(base) for base in bases]
            new_embedding[position[code]] = embedding[members].mean(0)
            new_bias[position[code]] = bias[members].mean(0)
    return new_embedding, new_bias


def official_to_hf(state: dict[str, torch.Tensor], embedding: torch.Tensor | None = None,
                   bias: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Rename an official state dict to multimolecule keys with the full-vocabulary rows given (or expanded)."""
    if embedding is None or bias is None:
        embedding, bias = expand_vocabulary(state["embed_tokens.weight"], state["lm_head.bias"])
    hf: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key == "lm_head.weight":
            continue
        name = official_key_to_hf(key)
        if key == "embed_tokens.weight":
            value = embedding
        elif key == "lm_head.bias":
            value = bias
        hf[name] = value.contiguous()
    return hf
