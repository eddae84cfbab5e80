"""Loading RNA-MSM weights: the official Lightning checkpoint, a Hugging Face folder, or a hub id.

``load_checkpoint(source)`` accepts

- a file: the official ``RNA_MSM_pretrained.ckpt`` (``{"state_dict": ...}``, unprefixed keys, 12-token
  vocabulary, training configs pickled as ``__main__`` classes). It is read WITHOUT running pickled code:
  :func:`torch.serialization.get_unsafe_globals_in_checkpoint` lists the globals statically, anything
  but the expected config classes is refused, and those are replaced by inert stubs for a
  ``weights_only=True`` load;
- a folder in multimolecule's layout: ``config.json``, ``model.safetensors`` (or ``pytorch_model.bin``,
  read with ``weights_only=True``) and ``vocab.txt``, whose order differs between releases, so the 12
  official rows are picked by token string;
- a Hugging Face hub id (``multimolecule/rnamsm``, optionally ``@revision`` or ``hf://`` in front),
  resolved through ``huggingface_hub``'s cache; ``HF_HUB_OFFLINE=1`` uses the cache only.

Every problem (missing, truncated or corrupt file, wrong shapes, missing keys, wrong vocabulary) is one
:class:`~rnamsm.errors.RnamsmError` naming the file.
"""

from __future__ import annotations

import os
import pickletools
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from rnamsm.checksums import file_sha256
from rnamsm.errors import RnamsmError
from rnamsm.model.alphabet import OFFICIAL_TOKENS
from rnamsm.model.convert import hf_to_official
from rnamsm.model.device import resolve_device, resolve_dtype
from rnamsm.model.rnamsm import RnaMsm, RnaMsmConfig
from rnamsm.textfile import check_regular_file, read_json_object, read_text

DEFAULT_HUB_ID = "multimolecule/rnamsm"
#: Globals the official checkpoint pickles (training configs defined in ``__main__``); stubbed, never run.
EXPECTED_CONFIG_GLOBALS = frozenset(
    f"__main__.{name}"
    for name in ("Config", "OptimizerConfig", "MSATransformerModelConfig", "DataConfig", "TrainConfig",
                 "LoggingConfig")
)
HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
HUB_FILES = ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]
_HUB_ID = re.compile(r"^(?:hf://)?([A-Za-z0-9][\w.-]*/[\w.-]+)(?:@([\w./-]+))?$")


@dataclass(frozen=True)
class CheckpointInfo:
    """Where a model's weights came from."""

    source: str
    #: ``official``, ``hf-folder`` or ``hf-hub``.
    format: str
    weights_path: Path
    sha256: str
    #: True when the checkpoint says it is randomly initialised (``"rnamsm_untrained": true``).
    untrained: bool = False
    #: The folder's vocabulary (HF layouts) or the official 12 tokens.
    vocab: tuple[str, ...] = OFFICIAL_TOKENS
    #: Extra metadata (HF ``config.json``, official stub contents, conversion extras).
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


# --------------------------------------------------------------------------------------------------
# Official Lightning checkpoint


def _make_stub(qualified_name: str) -> type:
    """An inert class importable as ``qualified_name``: it only stores what unpickling hands it."""
    module, _, name = qualified_name.rpartition(".")

    def __init__(self, *args, **kwargs):  # noqa: N807 - REDUCE on a stub just records its arguments
        self.__dict__.update({"args": args, **kwargs})

    def __setstate__(self, state):  # noqa: N807
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
            state = {**(state[0] or {}), **state[1]}
        self.__dict__.update(state if isinstance(state, dict) else {"state": state})

    stub = type(name, (), {"__init__": __init__, "__setstate__": __setstate__, "__module__": module})
    stub.__qualname__ = name
    return stub


def _short(error: BaseException) -> str:
    """The first sentence of an exception message, without terminal escapes, on one line."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip().replace("\n", " ") or type(error).__name__
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return sentence if len(sentence) <= 160 else sentence[:157] + "..."


def _pickle_globals(path: Path, max_pickles: int = 4) -> set[str]:
    """Globals named by the pickles at the start of ``path``, found by disassembly (nothing is run).

    Legacy ``torch.save`` files hold a few pickles in a row (magic, protocol, system info, object) before
    raw storage bytes; disassembly stops at the first thing that is not a pickle.
    """
    found: set[str] = set()
    with open(path, "rb") as handle:
        for _ in range(max_pickles):
            pushed: list[object] = []
            memo: dict[int, object] = {}
            try:
                for opcode, arg, _ in pickletools.genops(handle):
                    name = opcode.name
                    if name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"):
                        pushed.append(arg)
                    elif name in ("BINGET", "LONG_BINGET", "GET"):
                        pushed.append(memo.get(int(arg)))
                    elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
                        memo[int(arg)] = pushed[-1] if pushed else None
                    elif name == "MEMOIZE":
                        memo[len(memo)] = pushed[-1] if pushed else None
                    elif name == "GLOBAL":
                        found.add(str(arg).replace(" ", "."))
                    elif name == "STACK_GLOBAL" and len(pushed) >= 2:
                        found.add(f"{pushed[-2]}.{pushed[-1]}")
                    elif name not in ("FRAME", "PROTO"):
                        pushed.append(None)
            except Exception:  # noqa: BLE001 - past the pickles (storage bytes) or not a pickle at all
                break
    return found


def _torch_allows(name: str) -> bool:
    """True for globals ``torch.load(weights_only=True)`` accepts by default (tensor rebuilding etc.)."""
    from torch import _weights_only_unpickler

    return name in _weights_only_unpickler._get_allowed_globals()


def read_official(path: Path, extra_globals: tuple[str, ...] = ()) -> dict[str, Any]:
    """Load an official-layout checkpoint file as a dict without executing pickled code."""
    allowed = EXPECTED_CONFIG_GLOBALS | set(extra_globals)
    _check_readable_file(path)
    if zipfile.is_zipfile(path):
        try:
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
        except Exception as error:  # noqa: BLE001 - any failure to parse is a corrupt file
            raise RnamsmError(f"{path}: not a loadable checkpoint (truncated or corrupt: {_short(error)})") from None
        refused = sorted(set(unsafe) - allowed)
        if refused:
            raise RnamsmError(
                f"{path}: refusing to load: the pickle references {', '.join(refused)}, which could run code "
                "(only the official training-config classes are stubbed)"
            )
        names = sorted(unsafe)
    else:  # legacy or raw pickle: list the globals ourselves; weights_only still refuses anything unlisted
        refused = sorted(name for name in _pickle_globals(path) - allowed if not _torch_allows(name))
        if refused:
            raise RnamsmError(
                f"{path}: refusing to load: the pickle references {', '.join(refused)}, which could run code "
                "(only the official training-config classes are stubbed)"
            )
        names = sorted(allowed)
    stubs = [(_make_stub(name), name) for name in names]
    try:
        with torch.serialization.safe_globals(stubs):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch raises many types for broken or hostile files
        refused = re.search(r"GLOBAL (\S+)", str(error))
        if refused:
            raise RnamsmError(f"{path}: refusing to load: the pickle references {refused.group(1)}, which could "
                              "run code (only the official training-config classes are stubbed)") from None
        raise RnamsmError(f"{path}: not a loadable checkpoint (truncated or corrupt: {_short(error)})") from None
    if not isinstance(checkpoint, dict):
        raise RnamsmError(f"{path}: expected a checkpoint dict, found {type(checkpoint).__name__}")
    return checkpoint


def _official_state_dict(checkpoint: dict[str, Any], path: Path) -> dict[str, torch.Tensor]:
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


# --------------------------------------------------------------------------------------------------
# Hugging Face folder


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
    _check_readable_file(path)
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError, RuntimeError) as error:
            raise RnamsmError(
                f"{path}: not a readable safetensors file (truncated or corrupt: {_short(error)})"
            ) from None
    state = read_official(path, extra_globals=())
    return {key: value for key, value in state.items() if isinstance(value, torch.Tensor)}


# --------------------------------------------------------------------------------------------------
# Validation, hub, and the public loader


def _check_readable_file(path: Path) -> None:
    check_regular_file(path, "a checkpoint file")
    if path.stat().st_size == 0:
        raise RnamsmError(f"{path}: empty file")


def build_model(config: RnaMsmConfig, state: dict[str, torch.Tensor], path: Path) -> RnaMsm:
    """Check keys, shapes and the LM-head tie against ``config``; return the loaded model (CPU, float32)."""
    with torch.device("meta"):
        expected = {key: tuple(value.shape) for key, value in RnaMsm(config).state_dict().items()}
    missing = sorted(set(expected) - set(state))
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise RnamsmError(f"{path}: missing keys {', '.join(missing[:5])}{more}")
    unexpected = sorted(set(state) - set(expected))
    if unexpected:
        raise RnamsmError(f"{path}: unexpected keys {', '.join(unexpected[:5])}")
    for key, shape in expected.items():
        if tuple(state[key].shape) != shape:
            raise RnamsmError(f"{path}: {key} has shape {tuple(state[key].shape)}, expected {shape}")
    if not torch.equal(state["lm_head.weight"], state["embed_tokens.weight"]):
        raise RnamsmError(f"{path}: lm_head.weight differs from embed_tokens.weight (they must be tied)")
    bad = [key for key, value in state.items() if not value.is_floating_point() or not torch.isfinite(value).all()]
    if bad:
        raise RnamsmError(f"{path}: {bad[0]} is not a finite floating-point tensor")
    with torch.device("meta"):  # no random init and no second copy of the weights: load by assignment
        model = RnaMsm(config)
    model.load_state_dict({key: value.float() for key, value in state.items()}, strict=True, assign=True)
    model.lm_head.weight = model.embed_tokens.weight  # keep the tie as one parameter
    return model.eval()


def _hub_cache_dir() -> str | None:
    """The hub cache, read from the environment now (huggingface_hub reads it once at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return str(Path(os.environ["HF_HOME"]) / "hub")
    return None


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def download_from_hub(repo_id: str, revision: str | None = None) -> Path:
    """Resolve a hub checkpoint to a local snapshot folder through the Hugging Face cache."""
    from huggingface_hub import snapshot_download

    cache = _hub_cache_dir()
    where = cache or "the default Hugging Face cache"
    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=HUB_FILES, cache_dir=cache,
                                      local_files_only=_offline()))
    except Exception as error:  # noqa: BLE001 - hub errors come in many types; all mean "not available"
        mode = "HF_HUB_OFFLINE is set" if _offline() else "the hub could not be reached or refused"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RnamsmError(
            f"{repo_id}: not a local file or folder, not in {where}, and {mode} ({reason}); "
            f"download it once with `hf download {repo_id}` or pass a local checkpoint"
        ) from None


def read_checkpoint(source: str | os.PathLike[str], hf_eps_parity: bool = False,
                    extra_globals: tuple[str, ...] = ()) -> tuple[RnaMsmConfig, dict[str, torch.Tensor],
                                                                   CheckpointInfo]:
    """Resolve ``source`` and return ``(config, official-layout state dict, info)`` without building a model."""
    text = os.fspath(source)
    path = Path(text)
    if path.is_dir():
        return _from_hf(read_hf_folder(path, hf_eps_parity), text, "hf-folder")
    if path.exists():
        checkpoint = read_official(path, extra_globals)
        state = _official_state_dict(checkpoint, path)
        extras = checkpoint.get("rnamsm") if isinstance(checkpoint.get("rnamsm"), dict) else {}
        metadata = {key: value for key, value in checkpoint.items() if key != "state_dict"}
        config = config_from_official(state, path, metadata)
        info = CheckpointInfo(text, "official", path, file_sha256(path), bool(extras.get("untrained", False)),
                              OFFICIAL_TOKENS, metadata)
        return config, state, info
    hub = _HUB_ID.match(text)
    if not hub:
        raise RnamsmError(f"{text}: no such checkpoint file or folder (nor a Hugging Face hub id like "
                          f"{DEFAULT_HUB_ID})")
    folder = download_from_hub(hub.group(1), hub.group(2))
    return _from_hf(read_hf_folder(folder, hf_eps_parity), text, "hf-hub")


def _from_hf(folder: HfFolder, source: str, kind: str) -> tuple[RnaMsmConfig, dict[str, torch.Tensor],
                                                                 CheckpointInfo]:
    metadata = {"config": folder.hf_config, "word_embeddings": folder.word_embeddings, "lm_bias": folder.lm_bias}
    info = CheckpointInfo(source, kind, folder.weights, file_sha256(folder.weights),
                          bool(folder.hf_config.get("rnamsm_untrained", False)), tuple(folder.vocab), metadata)
    return folder.config, folder.state, info


def load_checkpoint(source: str | os.PathLike[str] = DEFAULT_HUB_ID, device: str = "auto",
                    dtype: torch.dtype | str = torch.float32, hf_eps_parity: bool = False,
                    extra_globals: tuple[str, ...] = ()) -> RnaMsm:
    """Load RNA-MSM from an official checkpoint file, an HF folder or a hub id, ready for inference.

    ``device``: ``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``. ``dtype``:
    float32 (reference) or an opt-in bfloat16/float16. ``hf_eps_parity`` uses the HF config's
    LayerNorm epsilons (multimolecule's numerics) instead of the official 1e-5. ``extra_globals`` are
    further pickle globals to stub (never to run). The returned model has ``.checkpoint``
    (:class:`CheckpointInfo`).
    """
    config, state, info = read_checkpoint(source, hf_eps_parity, extra_globals)
    model = build_model(config, state, info.weights_path)
    model.checkpoint = info
    return model.to(device=resolve_device(device), dtype=resolve_dtype(dtype))
