"""Secondary structures as pair sets, and the bpseq, ct, dot-bracket and probability-matrix formats.

Positions are 1-based and a pair is ``(i, j)`` with ``i < j`` (evaluation.md, section 3). A
:class:`Structure` keeps a *set* of pairs, so it can hold multiplets (a base in two pairs); the
partner-array formats (bpseq, ct, dot-bracket) refuse them on writing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnamsm.arrays import npy_bytes, read_npy
from rnamsm.atomic import write_files
from rnamsm.errors import RnamsmError
from rnamsm.formats.query import normalise_sequence
from rnamsm.textfile import read_text

Pair = tuple[int, int]

#: Bracket pairs for pseudoknot levels: ``()`` first, then ``[] {} <>``, then ``Aa Bb ... Zz``.
BRACKET_LEVELS: tuple[tuple[str, str], ...] = (("(", ")"), ("[", "]"), ("{", "}"), ("<", ">")) + tuple(
    (chr(code), chr(code).lower()) for code in range(ord("A"), ord("Z") + 1)
)
#: Watson-Crick and wobble pairs, by base identity.
CANONICAL_PAIRS = frozenset({"AU", "UA", "GC", "CG", "GU", "UG"})
#: Header lines that bpRNA-style bpseq files carry before the residues.
_BPSEQ_HEADER_PREFIXES = ("#", "Filename:", "Organism:", "Accession Number:", "Citation and related information")
#: Longest sequence for which the dot-bracket writer finds a maximum non-crossing first level.
MAX_EXACT_DBN_LENGTH = 2000


@dataclass
class Structure:
    """A named RNA sequence with a set of 1-based base pairs ``(i, j)``, ``i < j``."""

    name: str
    sequence: str
    pairs: set[Pair] = field(default_factory=set)

    def sorted_pairs(self) -> list[Pair]:
        """The pairs in order of ``i`` then ``j``."""
        return sorted(self.pairs)


def normalise_pairs(pairs: Iterable[Iterable[int]], length: int, source: str) -> set[Pair]:
    """Order each pair as ``i < j``, drop self-pairs and duplicates, and refuse positions outside 1..L."""
    result: set[Pair] = set()
    for raw in pairs:
        i, j = (int(value) for value in raw)
        if not (1 <= i <= length and 1 <= j <= length):
            raise RnamsmError(f"{source}: pair ({i}, {j}) lies outside positions 1..{length}")
        if i != j:
            result.add((min(i, j), max(i, j)))
    return result


def is_canonical(sequence: str, pair: Pair) -> bool:
    """True when the two bases of a 1-based pair form AU/UA, GC/CG or GU/UG."""
    return sequence[pair[0] - 1] + sequence[pair[1] - 1] in CANONICAL_PAIRS


def multiplet_bases(pairs: Iterable[Pair]) -> list[int]:
    """Positions that take part in more than one pair, sorted."""
    counts: dict[int, int] = {}
    for i, j in pairs:
        counts[i] = counts.get(i, 0) + 1
        counts[j] = counts.get(j, 0) + 1
    return sorted(position for position, count in counts.items() if count > 1)


def partner_array(structure: Structure, source: str) -> list[int]:
    """Partner of every position (0 = unpaired), 1-based; refuses multiplets."""
    bad = multiplet_bases(structure.pairs)
    if bad:
        raise RnamsmError(
            f"{source}: record '{structure.name}': base {bad[0]} is in more than one pair; resolve "
            "multiplets (drop-lowest or drop-later) before writing a partner-array format"
        )
    partners = [0] * len(structure.sequence)
    for i, j in structure.pairs:
        partners[i - 1] = j
        partners[j - 1] = i
    return partners


def drop_later_multiplets(pairs: Iterable[Pair]) -> set[Pair]:
    """Resolve multiplets by keeping, for every base, the pair met first in (i, j) order."""
    used: set[int] = set()
    kept: set[Pair] = set()
    for i, j in sorted(pairs):
        if i not in used and j not in used:
            kept.add((i, j))
            used.update((i, j))
    return kept


# --- bpseq -------------------------------------------------------------------------------------


def format_bpseq(structure: Structure, source: str = "bpseq") -> str:
    """bpseq text: a ``# name`` line, then ``i base partner`` per residue (space-separated)."""
    partners = partner_array(structure, source)
    lines = [f"# {structure.name}"]
    lines += [f"{index} {base} {partner}" for index, (base, partner) in enumerate(zip(structure.sequence, partners), 1)]
    return "\n".join(lines) + "\n"


def parse_bpseq(text: str, name: str, source: str) -> Structure:
    """Parse bpseq text; checks numbering and that partners are symmetric."""
    bases: list[str] = []
    partners: list[int] = []
    for line_number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(_BPSEQ_HEADER_PREFIXES):
            continue
        fields = stripped.split()
        if len(fields) != 3 or not fields[0].isdigit() or not fields[2].isdigit():
            raise RnamsmError(f"{source}: line {line_number}: expected 'index base partner', got {stripped!r}")
        if int(fields[0]) != len(bases) + 1:
            raise RnamsmError(f"{source}: line {line_number}: index {fields[0]} out of order")
        bases.append(fields[1])
        partners.append(int(fields[2]))
    return _from_partners(name, "".join(bases), partners, source)


def _from_partners(name: str, sequence: str, partners: list[int], source: str) -> Structure:
    length = len(partners)
    pairs: set[Pair] = set()
    for i, j in enumerate(partners, 1):
        if j == 0:
            continue
        if not 1 <= j <= length or j == i:
            raise RnamsmError(f"{source}: record '{name}': position {i} has invalid partner {j}")
        if partners[j - 1] != i:
            raise RnamsmError(f"{source}: record '{name}': position {i} pairs with {j} but {j} lists {partners[j - 1]}")
        pairs.add((min(i, j), max(i, j)))
    return Structure(name, normalise_sequence(sequence), pairs)


# --- ct ----------------------------------------------------------------------------------------


def format_ct(structure: Structure, source: str = "ct") -> str:
    """ct text: ``N name`` header, then six tab-separated columns per residue."""
    partners = partner_array(structure, source)
    length = len(structure.sequence)
    lines = [f"{length}\t{structure.name}"]
    for index, (base, partner) in enumerate(zip(structure.sequence, partners), 1):
        following = index + 1 if index < length else 0
        lines.append(f"{index}\t{base}\t{index - 1}\t{following}\t{partner}\t{index}")
    return "\n".join(lines) + "\n"


def parse_ct(text: str, name: str, source: str, all_structures: bool = False) -> list[Structure]:
    """Parse ct text (any whitespace, blank lines allowed); the first structure, or all of them."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    structures: list[Structure] = []
    position = 0
    while position < len(lines):
        header = lines[position]
        if not header[0].isdigit():
            raise RnamsmError(f"{source}: structure {len(structures) + 1}: header must start with the length")
        length = int(header[0])
        rows = lines[position + 1 : position + 1 + length]
        if len(rows) != length:
            raise RnamsmError(f"{source}: structure {len(structures) + 1}: expected {length} residue lines")
        bases: list[str] = []
        partners: list[int] = []
        for offset, fields in enumerate(rows, 1):
            if len(fields) < 6 or not fields[0].isdigit() or int(fields[0]) != offset or not fields[4].isdigit():
                raise RnamsmError(f"{source}: structure {len(structures) + 1}: bad residue line {offset}")
            bases.append(fields[1])
            partners.append(int(fields[4]))
        title = name if not structures else f"{name}_{len(structures) + 1}"
        structures.append(_from_partners(title, "".join(bases), partners, source))
        position += 1 + length
        if not all_structures:
            break
    if not structures:
        raise RnamsmError(f"{source}: no structure found")
    return structures


# --- dot-bracket -------------------------------------------------------------------------------


def _crosses(a: Pair, b: Pair) -> bool:
    return a[0] < b[0] < a[1] < b[1] or b[0] < a[0] < b[1] < a[1]


def _maximum_nested_subset(pairs: list[Pair], length: int) -> set[Pair]:
    """Largest non-crossing subset of a partner-unique pair list (interval dynamic programming)."""
    partner = [0] * (length + 2)
    for i, j in pairs:
        partner[i] = j
    # best[i][j]: most nested pairs within positions i..j (1-based); row i+1 kept from the last step.
    best = np.zeros((length + 2, length + 2), dtype=np.int32)
    for i in range(length, 0, -1):
        k = partner[i]
        row_next = best[i + 1]
        row = best[i]
        row[i:] = row_next[i:]
        if k:
            take = np.zeros(length + 2, dtype=np.int32)
            take[k:] = 1 + best[i + 1][k - 1] + best[k + 1][k:]
            row[k:] = np.maximum(row[k:], take[k:])
    chosen: set[Pair] = set()
    stack = [(1, length)]
    while stack:
        i, j = stack.pop()
        if i >= j:
            continue
        k = partner[i]
        if k and k <= j and best[i][j] == 1 + best[i + 1][k - 1] + best[k + 1][j]:
            chosen.add((i, k))
            stack += [(i + 1, k - 1), (k + 1, j)]
        else:
            stack.append((i + 1, j))
    return chosen


def nested_pairs(pairs: Iterable[Pair], length: int) -> set[Pair]:
    """The nested part of a structure: the first dot-bracket level; refuses multiplets.

    A maximum non-crossing subset (interval dynamic programming), a greedy one above
    :data:`MAX_EXACT_DBN_LENGTH` nt (pairs taken in order of ``i`` when they cross nothing taken).
    """
    ordered = sorted(pairs)
    if multiplet_bases(ordered):
        raise RnamsmError("dot-bracket cannot represent a base in more than one pair")
    if length <= MAX_EXACT_DBN_LENGTH:
        return _maximum_nested_subset(ordered, length)
    first: set[Pair] = set()
    for pair in ordered:
        if not any(_crosses(pair, other) for other in first):
            first.add(pair)
    return first


def _render(length: int, levels: Iterable[Iterable[Pair]]) -> str:
    """Dot-bracket text: the pairs of level k drawn with the k-th bracket pair of :data:`BRACKET_LEVELS`."""
    chars = ["."] * length
    for (opening, closing), level in zip(BRACKET_LEVELS, levels):
        for i, j in level:
            chars[i - 1] = opening
            chars[j - 1] = closing
    return "".join(chars)


def pairs_to_dbn(pairs: Iterable[Pair], length: int) -> str:
    """Dot-bracket with pseudoknot levels ``() [] {} <> Aa Bb ...``; refuses multiplets.

    The first level is :func:`nested_pairs`; each remaining pair goes, in order of ``i``, to the first
    level where it crosses nothing already placed.
    """
    ordered = sorted(pairs)
    first = nested_pairs(ordered, length)
    levels: list[list[Pair]] = [sorted(first)]
    for pair in ordered:
        if pair in first:
            continue
        for level in levels[1:]:
            if not any(_crosses(pair, other) for other in level):
                level.append(pair)
                break
        else:
            levels.append([pair])
    if len(levels) > len(BRACKET_LEVELS):
        raise RnamsmError(f"dot-bracket: {len(levels)} pseudoknot levels exceed the {len(BRACKET_LEVELS)} available")
    return _render(length, levels)


def nested_dbn(pairs: Iterable[Pair], length: int) -> str:
    """Dot-bracket of the nested part (:func:`nested_pairs`) alone, in ``()``; refuses multiplets."""
    return _render(length, [nested_pairs(pairs, length)])


def _pairs_by_bracket(dbn: str, source: str) -> dict[str, set[Pair]]:
    """Pairs of a dot-bracket string by opening bracket (one stack per bracket type); unbalanced is an error."""
    opening_of = {closing: opening for opening, closing in BRACKET_LEVELS}
    stacks: dict[str, list[int]] = {opening: [] for opening, _ in BRACKET_LEVELS}
    pairs: dict[str, set[Pair]] = {opening: set() for opening, _ in BRACKET_LEVELS}
    for position, char in enumerate(dbn, 1):
        if char in stacks:
            stacks[char].append(position)
        elif char in opening_of:
            stack = stacks[opening_of[char]]
            if not stack:
                raise RnamsmError(f"{source}: unbalanced '{char}' at position {position}")
            pairs[opening_of[char]].add((stack.pop(), position))
        elif char not in ".-_,:~":
            raise RnamsmError(f"{source}: invalid dot-bracket character '{char}' at position {position}")
    for opening, stack in stacks.items():
        if stack:
            raise RnamsmError(f"{source}: unbalanced '{opening}' at position {stack[-1]}")
    return pairs


def dbn_to_pairs(dbn: str, source: str) -> set[Pair]:
    """Pairs of a dot-bracket string (one stack per bracket type); unbalanced brackets are an error."""
    return set().union(*_pairs_by_bracket(dbn, source).values())


def first_level_dbn(dbn: str, source: str) -> str:
    """Only the ``()`` pairs of a dot-bracket string (pseudoknot brackets become ``.``); the whole is checked."""
    return _render(len(dbn), [_pairs_by_bracket(dbn, source)["("]])


def format_dbn(structure: Structure) -> str:
    """Dot-bracket file text: ``>name``, the sequence, the structure."""
    return f">{structure.name}\n{structure.sequence}\n{pairs_to_dbn(structure.pairs, len(structure.sequence))}\n"


def parse_dbn(text: str, name: str, source: str) -> Structure:
    """Parse ``>name`` / sequence / structure; a trailing ``(energy)`` on the structure line is ignored."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if lines and lines[0].startswith(">"):
        name = lines[0][1:].split()[0] if lines[0][1:].split() else name
        lines = lines[1:]
    if len(lines) < 2:
        raise RnamsmError(f"{source}: expected a sequence line and a structure line")
    sequence, dbn = lines[0], lines[1].split()[0]
    if len(sequence) != len(dbn):
        raise RnamsmError(f"{source}: record '{name}': sequence has {len(sequence)} nt but structure {len(dbn)}")
    return Structure(name, normalise_sequence(sequence), dbn_to_pairs(dbn, source))


# --- pair lists and probability matrices -------------------------------------------------------


def parse_pair_list(text: str, sequence: str, name: str, index_base: int, source: str) -> Structure:
    """Parse ``i j [probability]`` lines with an explicit index base (0 or 1); multiplets allowed."""
    if index_base not in (0, 1):
        raise RnamsmError(f"{source}: index base must be 0 or 1, got {index_base}")
    raw: list[tuple[int, int]] = []
    for line_number, line in enumerate(text.splitlines(), 1):
        stripped = line.split("#", 1)[0].strip()
        if not stripped:
            continue
        fields = stripped.split()
        try:
            raw.append((int(fields[0]) + 1 - index_base, int(fields[1]) + 1 - index_base))
        except (ValueError, IndexError):
            raise RnamsmError(f"{source}: line {line_number}: expected 'i j [probability]'") from None
    sequence = normalise_sequence(sequence)
    return Structure(name, sequence, normalise_pairs(raw, len(sequence), source))


def read_structure(path: str | os.PathLike[str], name: str | None = None) -> Structure:
    """Read a ``.bpseq``, ``.ct`` or dot-bracket (``.dbn``/``.db``/``.dot``) file (first structure)."""
    path = Path(path)
    name = name or path.name.split(".")[0]
    text = read_text(path, "a structure file")
    suffix = path.suffix.lower()
    if suffix == ".bpseq":
        return parse_bpseq(text, name, str(path))
    if suffix == ".ct":
        return parse_ct(text, name, str(path))[0]
    if suffix in (".dbn", ".db", ".dot"):
        return parse_dbn(text, name, str(path))
    raise RnamsmError(f"{path}: unknown structure format '{suffix}' (expected .bpseq, .ct or .dbn)")


def structure_texts(structure: Structure, out_dir: str | os.PathLike[str]) -> dict[Path, str]:
    """``{name}.bpseq``, ``{name}.ct`` and ``{name}.dbn`` in ``out_dir``, each with its text."""
    out_dir = Path(out_dir)
    return {
        out_dir / f"{structure.name}.bpseq": format_bpseq(structure),
        out_dir / f"{structure.name}.ct": format_ct(structure),
        out_dir / f"{structure.name}.dbn": format_dbn(structure),
    }


def write_structure_files(structure: Structure, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``{name}.bpseq``, ``{name}.ct`` and ``{name}.dbn`` into ``out_dir`` as one set; return their paths."""
    texts = structure_texts(structure, out_dir)
    write_files(texts)
    return {path.suffix[1:]: path for path in texts}


def prob_npy_bytes(matrix: np.ndarray) -> bytes:
    """An (L, L) probability matrix as the bytes of a float32 ``.npy`` file (``{name}.prob.npy``)."""
    return npy_bytes(np.ascontiguousarray(matrix, dtype=np.float32))


def read_prob_npy(path: str | os.PathLike[str], length: int) -> np.ndarray:
    """Read an (L, L) probability matrix ``.npy`` (``{name}.prob.npy``, or a baseline's) for a query of ``length``."""
    matrix = read_npy(path, "a probability matrix (.npy)")
    if matrix.dtype.kind not in "biuf":
        raise RnamsmError(f"{path}: matrix must hold numbers, found {matrix.dtype}")
    if matrix.shape != (length, length):
        raise RnamsmError(f"{path}: shape {matrix.shape} does not match the query length {length}")
    return matrix.astype(np.float64)  # (L, L)


def read_prob_text(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an official ``.prob`` file (L lines of L tab-separated floats) -> float64 (L, L)."""
    try:
        matrix = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as error:
        raise RnamsmError(f"{path}: cannot read probability matrix: {error}") from None
    if matrix.shape[0] != matrix.shape[1]:
        raise RnamsmError(f"{path}: probability matrix is {matrix.shape[0]} x {matrix.shape[1]}, not square")
    return matrix


def read_dbn_line(path: str | os.PathLike[str], length: int) -> str:
    """Read a user dot-bracket file (the last non-header line is the structure) for a query of ``length``."""
    path = Path(path)
    lines = [line.strip() for line in read_text(path, "a dot-bracket structure file").splitlines()]
    candidates = [line.split()[0] for line in lines if line and not line.startswith(">")]
    candidates = [line for line in candidates if set(line) <= set("().[]{}<>-,:_~")]
    if not candidates:
        raise RnamsmError(f"{path}: no dot-bracket structure line found")
    structure = candidates[-1]
    if len(structure) != length:
        raise RnamsmError(f"{path}: structure is {len(structure)} characters, the query is {length} nt")
    return first_level_dbn(structure, f"{path}: invalid structure")
