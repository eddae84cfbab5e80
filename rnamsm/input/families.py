"""A family's members: which records of the family alignment become samples, and their safe ids.

A families sheet row names an alignment and ``members``: ``all``, ``first N`` or record names. Each
member becomes the sample ``{family_id}.{member}`` (:func:`rnamsm.layout.member_sample_id`), where
``member`` is the record name made safe (:func:`safe_member_id`); two records that give the same safe id
are told apart by ``_2``, ``_3``... in file order, and :class:`Family` lists them. The workflow, the
family report and the batch index all expand a family here, from the alignment that
:func:`rnamsm.formats.msa.read` reads, so they agree on every id. Members that re-anchor the family
alignment run ``N`` per job (``family_members_per_job``): :func:`member_chunks` is the one partition, in
member order, that the workflow and ``rnamsm run-members`` share.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rnamsm.errors import RnamsmError
from rnamsm.formats import msa as msa_format
from rnamsm.layout import MAX_FAMILY_ID_LENGTH, MAX_SAMPLE_ID_LENGTH, member_sample_id

#: What a members list is split on.
_LIST_SEPARATORS = re.compile(r"[;,\s]+")
_FIRST = re.compile(r"first ([1-9][0-9]*)")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
#: Longest member part of a sample id.
MAX_MEMBER_ID_LENGTH = MAX_SAMPLE_ID_LENGTH - MAX_FAMILY_ID_LENGTH - 1


@dataclass(frozen=True)
class Member:
    """One member: its sample id, its safe id within the family and its record name in the alignment."""

    sample: str
    member: str
    record: str


@dataclass(frozen=True)
class Family:
    """A family's members in alignment order, and the records whose safe ids collided (record -> id)."""

    family_id: str
    members: tuple[Member, ...]
    collisions: dict[str, str]


def safe_member_id(record: str) -> str:
    """``record`` as a member id: runs of characters other than letters, digits, ``_``, ``-`` become ``_``,
    leading ``_``/``-`` are dropped, at most :data:`MAX_MEMBER_ID_LENGTH` characters (``row`` when nothing is
    left)."""
    safe = _UNSAFE.sub("_", record).lstrip("_-")[:MAX_MEMBER_ID_LENGTH].rstrip("_") or "row"
    return safe


def selected_records(names: tuple[str, ...], members: str, source: str) -> list[str]:
    """The records that ``members`` (``all``, ``first N`` or a list of names) picks from ``names``."""
    spec = members.strip()
    if spec == "all":
        return list(names)
    first = _FIRST.fullmatch(spec)
    if first:
        return list(names[: int(first.group(1))])
    wanted = [name for name in _LIST_SEPARATORS.split(spec) if name]
    missing = [name for name in wanted if name not in names]
    if missing:
        raise RnamsmError(f"{source}: members: no record named {missing[0]!r} in the alignment")
    chosen = set(wanted)
    return [name for name in names if name in chosen]


def family_members(family_id: str, alignment: str | os.PathLike[str], members: str = "all") -> Family:
    """Expand one family: read its alignment's record names and give every selected record its sample id."""
    names = msa_format.read(alignment).names
    taken: set[str] = set()
    collisions: dict[str, str] = {}
    expanded = []
    for record in selected_records(names, members, str(alignment)):
        base = safe_member_id(record)
        member, number = base, 1
        while member in taken:
            number += 1
            suffix = f"_{number}"
            member = base[: MAX_MEMBER_ID_LENGTH - len(suffix)] + suffix
        if member != base:
            collisions[record] = member
        taken.add(member)
        expanded.append(Member(member_sample_id(family_id, member), member, record))
    return Family(family_id, tuple(expanded), collisions)


def member_chunks(members: Sequence[Member], size: int) -> list[tuple[Member, ...]]:
    """``members`` cut into consecutive chunks of ``size`` (the last one shorter), in member order."""
    if size < 1:
        raise RnamsmError(f"members per job must be at least 1, got {size}")
    return [tuple(members[start:start + size]) for start in range(0, len(members), size)]
