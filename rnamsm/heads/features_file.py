"""Sample ids of the heads' outputs (``features.npz`` itself is read by :mod:`rnamsm.formats.features`)."""

from __future__ import annotations

import re

from rnamsm.errors import RnamsmError

_SAMPLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def check_sample_id(sample_id: str) -> str:
    """Return ``sample_id`` if it is a safe sample id (``[A-Za-z0-9][A-Za-z0-9_-]*``), else raise."""
    if not _SAMPLE_ID.fullmatch(sample_id):
        raise RnamsmError(f"sample id {sample_id!r} must match [A-Za-z0-9][A-Za-z0-9_-]*")
    return sample_id
