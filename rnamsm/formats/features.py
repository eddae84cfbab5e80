"""``features.npz``: RNA-MSM's features of one query, written by ``rnamsm features``, read by the heads and the report.

An uncompressed NumPy archive, no pickles:

- float32 ``embedding`` ``(L, D)``, ``attention_maps`` ``(layers*heads, L, L)`` (channel ``layer*heads + head``,
  raw row-attention probabilities, BOS dropped; float32 or float16) and ``contacts`` ``(L, L)``; each of the
  three is present only when kept (``model.keep``; ``rnamsm features`` alone keeps all three);
- bool ``attention_coverage`` ``(L, L)`` (False for pairs never inside one window) and int64 ``windows``
  ``(W, 2)`` (``start, stop`` columns of each window);
- str ``sequence``: the query row the model saw (upper case, ``L`` characters);
- one 0-d array per :class:`Provenance` field.

:func:`read` loads and checks everything; :func:`read_info` reads the provenance and the array shapes
only (the attention maps, ``layers*heads*L*L`` floats, are not loaded). A file that lacks a provenance
field (written by hand, or by an older version) reads with that field ``None``.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnamsm.arrays import read_npz, read_npz_headers
from rnamsm.atomic import atomic_path
from rnamsm.errors import RnamsmError

T = typing.TypeVar("T")

#: What a features file is called in messages.
WHAT = "a features.npz file"
#: Arrays every features file has (the rest may be absent: not kept, or not written by ``rnamsm features``).
REQUIRED = ("sequence",)
#: The arrays ``model.keep`` chooses from.
KEEPABLE = ("embedding", "attention_maps", "contacts")
#: Storage types of the attention maps (float16 halves them; docs/model.md gives the error).
MAPS_DTYPES = {"float32": np.float32, "float16": np.float16}


@dataclass(frozen=True)
class Provenance:
    """Where the features came from: the scalars of ``features.npz`` (``None``: not recorded in the file)."""

    #: SHA-256 of the checkpoint's weights file.
    checkpoint_sha256: str | None = None
    #: ``official``, ``hf-folder`` or ``hf-hub``.
    checkpoint_format: str | None = None
    #: True when the checkpoint's config says it is randomly initialised (``"rnamsm_untrained": true``).
    weights_untrained: bool = False
    #: MSA rows the model read (query included) and rows in the MSA file.
    msa_depth: int | None = None
    msa_input_depth: int | None = None
    #: SHA-256 of the MSA file.
    msa_sha256: str | None = None
    #: ``none``, ``hhfilter`` or ``identity-filter``; rows that passed the filter itself.
    depth_reduction: str | None = None
    depth_filter_survivors: int | None = None
    #: Resolved device (``cpu``, ``cuda:0``) and precision (``fp32``, ``bf16``, ``fp16``).
    device: str | None = None
    #: Why the sample ran on another device than the one resolved (a GPU out of memory); ``None``: it did not.
    device_fallback: str | None = None
    precision: str | None = None
    #: CPU threads of the forward pass: the sums depend on it, so the bytes are identical only at equal counts.
    threads: int | None = None
    num_layers: int | None = None
    num_heads: int | None = None
    rnamsm_version: str | None = None


#: Type of each provenance field (``str``, ``int`` or ``bool``).
_FIELD_TYPES: dict[str, type] = {
    name: next(option for option in typing.get_args(hint) or (hint,) if option is not type(None))
    for name, hint in typing.get_type_hints(Provenance).items()
}
#: Every array name a features file may hold.
_KEYS = (*REQUIRED, *KEEPABLE, "attention_coverage", "windows", *_FIELD_TYPES)


@dataclass(frozen=True)
class FeaturesRecord:
    """The content of ``features.npz`` (optional arrays ``None`` when the file lacks them)."""

    sequence: str
    embedding: np.ndarray | None  # (L, D) float32
    attention_maps: np.ndarray | None  # (M, L, L) float32, channel = layer * heads + head
    contacts: np.ndarray | None = None  # (L, L) float32
    attention_coverage: np.ndarray | None = None  # (L, L) bool
    #: ``(start, stop)`` columns of each window the model ran on.
    windows: tuple[tuple[int, int], ...] | None = None
    provenance: Provenance = field(default_factory=Provenance)


@dataclass(frozen=True)
class FeaturesInfo:
    """``features.npz`` without its arrays: what :func:`read_info` returns."""

    path: Path
    sequence: str
    provenance: Provenance
    embedding_shape: tuple[int, int] | None  # (L, D); None: not kept
    attention_maps_shape: tuple[int, int, int] | None  # (M, L, L); None: not kept
    #: Fraction of position pairs inside at least one window (``None`` when the file does not say).
    coverage_fraction: float | None


def write(record: FeaturesRecord, path: str | os.PathLike[str], maps_dtype: str = "float32") -> None:
    """Write ``record`` to an uncompressed ``.npz`` atomically (arrays first, then the scalars by name).

    Arrays that are ``None`` are left out; ``maps_dtype`` (``float32`` or ``float16``) stores the attention maps.
    """
    arrays = {}
    if record.embedding is not None:
        arrays["embedding"] = record.embedding.astype(np.float32, copy=False)
    if record.attention_maps is not None:
        arrays["attention_maps"] = record.attention_maps.astype(MAPS_DTYPES[maps_dtype], copy=False)
    if record.contacts is not None:
        arrays["contacts"] = record.contacts.astype(np.float32, copy=False)
    if record.attention_coverage is not None:
        arrays["attention_coverage"] = record.attention_coverage.astype(bool, copy=False)
    if record.windows is not None:
        arrays["windows"] = np.asarray(record.windows, dtype=np.int64).reshape(-1, 2)
    scalars = {name: value for name, value in dataclasses.asdict(record.provenance).items() if value is not None}
    scalars["sequence"] = record.sequence
    for name, value in sorted(scalars.items()):
        arrays[name] = np.asarray(value)
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)


def read(path: str | os.PathLike[str]) -> FeaturesRecord:
    """Load and check ``features.npz`` (no pickles are read).

    Every problem (not an archive, truncated, a missing array, a wrong shape or dtype, non-finite
    values, a sequence that is not one upper-case string, a provenance value of the wrong type) is one
    :class:`RnamsmError` naming the file.
    """
    path = Path(path)
    data = read_npz(path, WHAT, _KEYS)
    _require(path, data.keys())
    sequence = _sequence(path, data["sequence"])
    length = len(sequence)
    embedding = maps = None
    if "embedding" in data:
        embedding = _float_array(path, "embedding", data["embedding"], (length, None), f"({length}, D)")
        _nonempty(path, "embedding", embedding.shape, 1)
    if "attention_maps" in data:
        maps = _float_array(path, "attention_maps", data["attention_maps"], (None, length, length),
                            f"(M, {length}, {length})")
        _nonempty(path, "attention_maps", maps.shape, 0)
    contacts = None
    if "contacts" in data:
        contacts = _float_array(path, "contacts", data["contacts"], (length, length), f"({length}, {length})")
    windows = None
    if "windows" in data:
        value = data["windows"]
        if value.dtype.kind not in "iu" or value.ndim != 2 or value.shape[1] != 2:
            raise RnamsmError(f"{path}: windows must be integer (start, stop) pairs, found {value.dtype} "
                              f"of shape {value.shape}")
        windows = tuple((int(start), int(stop)) for start, stop in value)
    return FeaturesRecord(sequence, embedding, maps, contacts, _coverage(path, data, length), windows,
                          _provenance(path, data))


def read_info(path: str | os.PathLike[str], require: tuple[str, ...] = ()) -> FeaturesInfo:
    """The sequence, provenance and array shapes of ``features.npz``, without loading the large arrays.

    The shapes and dtypes of ``embedding`` and ``attention_maps`` are checked from their headers (their
    values are not read); ``require`` names provenance fields the file must hold.
    """
    path = Path(path)
    headers = read_npz_headers(path, WHAT)
    _require(path, headers.keys(), require)
    data = read_npz(path, WHAT, ("sequence", "attention_coverage", *_FIELD_TYPES))
    sequence = _sequence(path, data["sequence"])
    length = len(sequence)
    embedding = maps = None
    if "embedding" in headers:
        shape = _check_array(path, "embedding", *headers["embedding"], (length, None), f"({length}, D)")
        embedding = (shape[0], _nonempty(path, "embedding", shape, 1))
    if "attention_maps" in headers:
        shape = _check_array(path, "attention_maps", *headers["attention_maps"], (None, length, length),
                             f"(M, {length}, {length})")
        maps = (_nonempty(path, "attention_maps", shape, 0), shape[1], shape[2])
    coverage = _coverage(path, data, length)
    fraction = None if coverage is None or not coverage.size else float(np.mean(coverage))
    return FeaturesInfo(path, sequence, _provenance(path, data), embedding, maps, fraction)


def needed(value: T | None, name: str, source: str, user: str) -> T:
    """``value`` (an array of a features record, or its shape) when it is there, else one :class:`RnamsmError`
    saying that ``user`` (``the SS head``) needs ``name`` and how to keep it."""
    if value is None:
        raise RnamsmError(f"{source}: the features hold no {name}, which {user} needs (keep it: model.keep, "
                          f"rnamsm features --keep {name}; or run the heads with the model: rnamsm run-samples)")
    return value


# --- checks ----------------------------------------------------------------------------------------


def _require(path: Path, present: Collection[str], extra: tuple[str, ...] = ()) -> None:
    missing = [name for name in REQUIRED if name not in present]
    if missing:
        raise RnamsmError(f"{path}: features lack {', '.join(sorted(missing))}")
    missing = [name for name in extra if name not in present]
    if missing:
        raise RnamsmError(f"{path}: missing field(s) {', '.join(missing)}")


def _sequence(path: Path, value: np.ndarray) -> str:
    if value.ndim != 0 or value.dtype.kind != "U":
        raise RnamsmError(f"{path}: sequence must be one string, found a {value.dtype} array of shape {value.shape}")
    sequence = str(value)
    if not sequence:
        raise RnamsmError(f"{path}: the sequence is empty")
    bad = next((index for index, char in enumerate(sequence) if not ("A" <= char <= "Z" or char == "-")), None)
    if bad is not None:
        raise RnamsmError(f"{path}: sequence: invalid character {sequence[bad]!r} at position {bad + 1} "
                          "(expected upper-case letters and '-')")
    return sequence


def _check_array(path: Path, name: str, shape: tuple[int, ...], dtype: np.dtype, expected: tuple[int | None, ...],
                 text: str) -> tuple[int, ...]:
    """``shape`` if an array of that shape and ``dtype`` is a float array of the ``expected`` shape."""
    if dtype.kind != "f":
        raise RnamsmError(f"{path}: {name} must hold floating-point numbers, found {dtype}")
    if len(shape) != len(expected) or any(size is not None and size != got for size, got in zip(expected, shape)):
        raise RnamsmError(f"{path}: {name} has shape {shape}, expected {text}")
    return shape


def _float_array(path: Path, name: str, value: np.ndarray, expected: tuple[int | None, ...], text: str) -> np.ndarray:
    _check_array(path, name, value.shape, value.dtype, expected, text)
    if not all(bool(np.isfinite(part).all()) for part in (value if value.ndim == 3 else (value,))):  # map by map
        raise RnamsmError(f"{path}: {name} holds NaN or infinite values")
    return value.astype(np.float32, copy=False)


def _nonempty(path: Path, name: str, shape: tuple[int, ...], axis: int) -> int:
    """``shape[axis]`` (D of the embedding, M of the maps) when it is not 0."""
    if shape[axis] == 0:
        raise RnamsmError(f"{path}: {name} {shape} is empty")
    return shape[axis]


def _coverage(path: Path, data: dict[str, np.ndarray], length: int) -> np.ndarray | None:
    if "attention_coverage" not in data:
        return None
    value = data["attention_coverage"]
    if value.dtype.kind != "b" or value.shape != (length, length):
        raise RnamsmError(f"{path}: attention_coverage must be a true/false array of shape ({length}, {length}), "
                          f"found {value.dtype} of shape {value.shape}")
    return value


def _provenance(path: Path, data: dict[str, np.ndarray]) -> Provenance:
    values: dict[str, object] = {}
    for name, kind in _FIELD_TYPES.items():
        if name not in data:
            continue
        value = data[name]
        if kind is bool:
            if value.ndim != 0 or value.dtype.kind not in "bi":
                raise RnamsmError(f"{path}: {name} must be one true/false value, found {value.dtype} "
                                  f"of shape {value.shape}")
            values[name] = bool(value)
        elif kind is int:
            if value.ndim != 0 or value.dtype.kind not in "iu":
                raise RnamsmError(f"{path}: {name} must be one integer, found {value.dtype} of shape {value.shape}")
            values[name] = int(value)
        else:
            if value.ndim != 0 or value.dtype.kind != "U":
                raise RnamsmError(f"{path}: {name} must be one string, found {value.dtype} of shape {value.shape}")
            values[name] = str(value)
    return Provenance(**values)
