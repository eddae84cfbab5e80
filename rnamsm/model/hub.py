"""Hugging Face hub ids of RNA-MSM checkpoints, resolved through ``huggingface_hub``'s cache.

An id is ``owner/name``, optionally with ``@revision`` after it or ``hf://`` in front;
``HF_HUB_OFFLINE=1`` uses the cache only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from rnamsm.errors import RnamsmError

DEFAULT_HUB_ID = "multimolecule/rnamsm"
HUB_FILES = ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]
_HUB_ID = re.compile(r"^(?:hf://)?([A-Za-z0-9][\w.-]*/[\w.-]+)(?:@([\w./-]+))?$")


def parse_hub_id(text: str) -> tuple[str, str | None] | None:
    """``(repo id, revision or None)`` when ``text`` is a hub id, else ``None``."""
    match = _HUB_ID.match(text)
    return (match.group(1), match.group(2)) if match else None


def _hub_cache_dir() -> str | None:
    """The hub cache, read from the environment now (huggingface_hub reads it once at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return str(Path(os.environ["HF_HOME"]) / "hub")
    return None


def offline() -> bool:
    """True when HF_HUB_OFFLINE asks for the cache only."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def hub_cache_description() -> str:
    """Where hub checkpoints are cached, for messages."""
    return _hub_cache_dir() or "the default Hugging Face cache"


def cached_snapshot(repo_id: str, revision: str | None = None) -> Path | None:
    """The cached snapshot folder of a hub checkpoint, or ``None`` when it is not in the cache (never downloads)."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=HUB_FILES,
                                      cache_dir=_hub_cache_dir(), local_files_only=True))
    except Exception:  # noqa: BLE001 - every hub error here means "not in the cache"
        return None


def download_from_hub(repo_id: str, revision: str | None = None) -> Path:
    """Resolve a hub checkpoint to a local snapshot folder through the Hugging Face cache."""
    from huggingface_hub import snapshot_download

    cache = _hub_cache_dir()
    where = hub_cache_description()
    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=HUB_FILES, cache_dir=cache,
                                      local_files_only=offline()))
    except Exception as error:  # noqa: BLE001 - hub errors come in many types; all mean "not available"
        mode = "HF_HUB_OFFLINE is set" if offline() else "the hub could not be reached or refused"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RnamsmError(
            f"{repo_id}: not a local file or folder, not in {where}, and {mode} ({reason}); "
            f"download it once with `hf download {repo_id}` or pass a local checkpoint"
        ) from None
