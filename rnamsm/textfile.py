"""Reading a user's text file, with one clear error when it is missing, unreadable or not text."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

from rnamsm.errors import RnamsmError


def read_text(path: str | os.PathLike[str], what: str) -> str:
    """The UTF-8 text of ``path`` (decompressed when it ends in ``.gz``).

    Raises :class:`RnamsmError` naming the file and ``what`` it should be (e.g. ``"an MSA file"``) when
    the file is missing, a directory, unreadable, a broken gzip stream or not UTF-8 text.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                return handle.read()
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RnamsmError(f"{path}: no such file, expected {what}") from None
    except IsADirectoryError:
        raise RnamsmError(f"{path}: is a directory, expected {what}") from None
    except UnicodeDecodeError:
        raise RnamsmError(f"{path}: cannot read {what}: not UTF-8 text") from None
    except (OSError, EOFError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise RnamsmError(f"{path}: cannot read {what}: {reason}") from None


def read_json_object(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """The JSON object in ``path`` (see :func:`read_text`); invalid JSON or another JSON type is one error."""
    try:
        data = json.loads(read_text(path, what))
    except json.JSONDecodeError as error:
        raise RnamsmError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise RnamsmError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data
