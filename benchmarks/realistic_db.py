"""The benchmarks' large search database, generated from real sequence (one generator for every benchmark).

    .venv/bin/python benchmarks/realistic_db.py --size 1000 --out /tmp/db-1000Mb.fa

writes a FASTA of about ``--size`` Mb of residues (never committed) and, beside it, ``<out>.json`` with what it
holds (records, residues, bytes, seed). Built from the real sequence in ``../shared/data`` (``--shared DIR``):
the *M. ruminantium* genome of Infernal's tutorial cut into records of 2-60 kb (60% of records), and the
ungapped members of the Rfam seed alignments of ``infernal_testsuite`` and ``infernal_tutorial`` (40%), every
record with 2-15% of positions substituted (seed 0), 1% exact duplicate sequences, 0.5% duplicate names and a
few empty records so that every drop rule of ``rnamsm prepare-db`` is exercised; one record in 200 is a 1.5 Mb
concatenation (a chromosome-like record that is windowed). The same size and seed give the same bytes, so
``benchmarks/prepare_db.py`` and ``benchmarks/shard_slurm.py`` reuse a file built once (:func:`ensure_database`).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The shared data folder beside the repository (../shared/data).
SHARED = ROOT.parent / "shared" / "data"
#: Generator version: bump it when build_database changes what it writes, so kept files are rebuilt.
VERSION = 1


def real_sequences(shared: Path) -> tuple[str, list[str]]:
    """The genome and the ungapped seed members (upper-case RNA)."""
    genome = "".join(line.strip() for line in (shared / "infernal_tutorial" / "mrum-genome.fa").read_text()
                     .splitlines() if not line.startswith(">")).upper().replace("T", "U")
    members = []
    for sto in sorted((shared / "infernal_testsuite").glob("*.sto")) + sorted(
            (shared / "infernal_tutorial").glob("*.sto")):
        rows: dict[str, str] = {}
        for line in sto.read_text(errors="replace").splitlines():
            if line and not line.startswith(("#", "//")):
                name, _, row = line.partition(" ")
                rows[name] = rows.get(name, "") + row.strip()
        members += [row.replace("-", "").replace(".", "").upper().replace("T", "U") for row in rows.values()]
    return genome, [member for member in members if len(member) >= 20]


def build_database(path: Path, megabases: float, shared: Path = SHARED, seed: int = 0) -> dict:
    """Write a FASTA database of about ``megabases`` Mb to ``path``; return what it holds."""
    if not (shared / "infernal_tutorial" / "mrum-genome.fa").is_file():
        raise SystemExit(f"{shared}: the shared data folder (infernal_tutorial/mrum-genome.fa) is missing")
    rng = random.Random(seed)
    genome, members = real_sequences(shared)
    target = int(megabases * 1e6)
    written = records = 0
    recent: list[str] = []
    with open(path, "w") as handle:
        while written < target:
            records += 1
            kind = rng.random()
            if kind < 0.005:
                sequence = "".join(genome[rng.randrange(len(genome) - 300_000):][:300_000] for _ in range(5))
            elif kind < 0.6:
                start = rng.randrange(len(genome) - 60_000)
                sequence = genome[start:start + rng.randrange(2_000, 60_000)]
            else:
                sequence = rng.choice(members)
            rate = rng.uniform(0.02, 0.15)
            letters = list(sequence)
            for position in rng.sample(range(len(letters)), int(rate * len(letters))):
                letters[position] = rng.choice("ACGU")
            sequence = "".join(letters)
            name = f"r{records}"
            roll = rng.random()
            if roll < 0.01 and recent:
                sequence = rng.choice(recent)  # an exact duplicate sequence
            elif roll < 0.015:
                name = f"r{max(1, records - 1)}"  # a duplicate name
            elif roll < 0.0152:
                sequence = ""
            recent = (recent + [sequence])[-50:]
            handle.write(f">{name} benchmark record\n")
            for offset in range(0, len(sequence), 80):
                handle.write(sequence[offset:offset + 80] + "\n")
            written += len(sequence)
    return {"records": records, "residues": written, "bytes": path.stat().st_size}


def ensure_database(path: Path, megabases: float, shared: Path = SHARED, seed: int = 0) -> dict:
    """The database at ``path``, built unless ``path`` and its ``.json`` record say it was built with these
    settings by this generator version; returns what it holds (and whether it was reused)."""
    record = path.with_name(path.name + ".json")
    wanted = {"size_Mb": megabases, "seed": seed, "version": VERSION}
    if path.is_file() and record.is_file():
        held = json.loads(record.read_text())
        if {key: held.get(key) for key in wanted} == wanted and held.get("bytes") == path.stat().st_size:
            return {**held, "reused": True}
    held = {**wanted, **build_database(path, megabases, shared, seed)}
    record.write_text(json.dumps(held, sort_keys=True) + "\n")
    return {**held, "reused": False}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=float, required=True, help="residues to write (Mb)")
    parser.add_argument("--out", type=Path, required=True, help="the FASTA file to write")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(json.dumps(ensure_database(args.out, args.size, args.shared, args.seed), sort_keys=True))


if __name__ == "__main__":
    main()
