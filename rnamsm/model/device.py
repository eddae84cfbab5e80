"""Device and precision choices for inference."""

from __future__ import annotations

import os

import torch

from rnamsm.errors import RnamsmError

#: ``--precision`` names -> dtypes (float32 is the reference; the others are opt-in).
PRECISIONS: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
_DTYPE_NAMES = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16", "half": "fp16"}


def cuda_visible_devices() -> str:
    """``CUDA_VISIBLE_DEVICES`` as set, or ``unset``."""
    return os.environ.get("CUDA_VISIBLE_DEVICES", "unset")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` -> ``cuda`` when a GPU is usable, else ``cpu``; ``cuda[:N]`` without that GPU is an error."""
    name = str(device).strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        try:
            resolved = torch.device(name)
        except RuntimeError:
            raise RnamsmError(f"invalid device {device!r}") from None
        if not torch.cuda.is_available():
            raise RnamsmError(f"device {name!r} requested but no CUDA GPU is available "
                              f"(CUDA_VISIBLE_DEVICES={cuda_visible_devices()}); use --device auto or cpu")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise RnamsmError(f"device {name!r} requested but only {torch.cuda.device_count()} CUDA GPU(s) are "
                              f"visible (CUDA_VISIBLE_DEVICES={cuda_visible_devices()})")
        return resolved
    raise RnamsmError(f"unknown device {device!r}; choose auto, cpu, cuda or cuda:N")


def resolve_dtype(dtype: torch.dtype | str) -> torch.dtype:
    """A dtype from a torch dtype or a name (``fp32``/``bf16``/``fp16`` or ``float32``/...)."""
    if isinstance(dtype, torch.dtype):
        if dtype not in PRECISIONS.values():
            raise RnamsmError(f"unsupported dtype {dtype}; choose float32, bfloat16 or float16")
        return dtype
    name = str(dtype).strip().lower().removeprefix("torch.")
    name = _DTYPE_NAMES.get(name, name)
    if name not in PRECISIONS:
        raise RnamsmError(f"unknown precision {dtype!r}; choose {', '.join(PRECISIONS)}")
    return PRECISIONS[name]
