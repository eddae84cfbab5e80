"""Reading pickle-based files (torch checkpoints, statistics pickles) without ever running pickled code.

A pickle names the globals (classes, functions) it calls while loading; a hostile one names ``open``,
``os.system`` and the like. Every loader of a pickle-based file goes through this module:

- :func:`load_torch_file` lists the globals of a torch file without unpickling it (``torch``'s own
  listing for zip checkpoints, a disassembly of the pickles for legacy and raw ones), refuses any
  global outside the caller's allow-list (torch's tensor-rebuilding names are always allowed), and
  loads with ``torch.load(weights_only=True)``, the allowed names standing in as :func:`inert_class`
  stubs that only record what they are given;
- :func:`load_plain_pickle` reads a plain pickle with an unpickler that resolves nothing but the
  caller's allow-list.

Problems are :class:`UnsafePickle` (names the refused globals) or :class:`UnreadablePickle` (the file
is truncated, corrupt or no pickle); each loader turns them into its one-line
:class:`~rnamsm.errors.RnamsmError`. Torch is imported only by :func:`load_torch_file`.
"""

from __future__ import annotations

import os
import pickle
import pickletools
import re
import zipfile
from collections.abc import Collection
from pathlib import Path
from typing import Any


class UnsafePickle(ValueError):
    """The file's pickle names globals outside the allow-list (it could run code)."""

    def __init__(self, names: Collection[str]) -> None:
        self.names = tuple(sorted(names))
        super().__init__(f"the pickle references {', '.join(self.names)}, which could run code")


class UnreadablePickle(ValueError):
    """The file is truncated, corrupt or not a pickle at all; ``error`` is what the reader raised."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        super().__init__(str(error))


def inert_class(qualified_name: str) -> type:
    """A class importable as ``qualified_name`` that only records what unpickling hands it.

    Constructor arguments land in ``args`` and keyword attributes, a pickled state (a dict, or a
    ``(dict, slots)`` pair) in the instance ``__dict__``; nothing else ever runs.
    """
    module, _, name = qualified_name.rpartition(".")

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807 - REDUCE on a stub records arguments
        self.__dict__.update({"args": args, **kwargs})

    def __setstate__(self: Any, state: Any) -> None:  # noqa: N807
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
            state = {**(state[0] or {}), **state[1]}
        self.__dict__.update(state if isinstance(state, dict) else {"state": state})

    stub = type(name, (), {"__init__": __init__, "__setstate__": __setstate__, "__module__": module})
    stub.__qualname__ = name
    return stub


def pickle_globals(path: str | os.PathLike[str], max_pickles: int = 4) -> set[str]:
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


def load_torch_file(path: str | os.PathLike[str], allowed: Collection[str]) -> Any:
    """The object in a torch file, loaded with ``weights_only=True``; the ``allowed`` globals become stubs.

    Raises :class:`UnsafePickle` when the file names any other global (besides torch's own tensor
    rebuilding), :class:`UnreadablePickle` when it cannot be parsed or loaded.
    """
    import torch

    path = Path(path)
    allowed = frozenset(allowed)
    if zipfile.is_zipfile(path):
        try:
            named = set(torch.serialization.get_unsafe_globals_in_checkpoint(str(path)))
        except Exception as error:  # noqa: BLE001 - any failure to parse is a corrupt file
            raise UnreadablePickle(error) from None
        refused = named - allowed
        stubbed = named
    else:  # legacy or raw pickle: list the globals ourselves; weights_only still refuses anything unlisted
        refused = {name for name in pickle_globals(path) - allowed if not _torch_allows(name)}
        stubbed = allowed
    if refused:
        raise UnsafePickle(refused)
    stubs = [(inert_class(name), name) for name in sorted(stubbed)]
    try:
        with torch.serialization.safe_globals(stubs):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch raises many types for broken or hostile files
        named_global = re.search(r"GLOBAL (\S+)", str(error))
        if named_global:
            raise UnsafePickle({named_global.group(1)}) from None
        raise UnreadablePickle(error) from None


class _AllowListUnpickler(pickle.Unpickler):
    """Resolves only the ``(module, name)`` pairs it is given; every other global is refused."""

    def __init__(self, handle: Any, allowed: Collection[tuple[str, str]]) -> None:
        super().__init__(handle)
        self.allowed = frozenset(allowed)

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.allowed:
            return super().find_class(module, name)
        raise UnsafePickle({f"{module}.{name}"})


def load_plain_pickle(path: str | os.PathLike[str], allowed: Collection[tuple[str, str]]) -> Any:
    """The object in a plain pickle file whose globals are all among the ``allowed`` ``(module, name)`` pairs.

    Raises :class:`UnsafePickle` for any other global, :class:`UnreadablePickle` for an unreadable or
    broken file.
    """
    try:
        with open(path, "rb") as handle:
            return _AllowListUnpickler(handle, allowed).load()
    except UnsafePickle:
        raise
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise UnreadablePickle(error) from None
