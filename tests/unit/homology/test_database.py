"""Database reading: gzip, Stockholm, duplicates, empty records, windows, chunks, bad formats."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from rnamsm.errors import RnamsmError
from rnamsm.homology.database import SequenceDatabase, window_starts
from tests.conftest import INFERNAL_DATA


def database(*paths: Path, **options) -> SequenceDatabase:
    settings = dict(split_above=1_000_000, window=100_000, overlap=1000, shuffle_seed=0, volume_nt=None)
    settings.update(options)
    return SequenceDatabase(list(paths), **settings)


def names_and_sequences(db: SequenceDatabase) -> dict[str, str]:
    return {seq.name: seq.textize().sequence for chunk in db.chunks() for seq in chunk.block}


def test_gzip_and_plain_fasta_read_the_same(tmp_path: Path) -> None:
    plain = tmp_path / "metag.fa"
    plain.write_bytes((INFERNAL_DATA / "metag-example.fa").read_bytes())
    packed = tmp_path / "metag.fa.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    a, b = database(plain), database(packed)
    assert names_and_sequences(a) == names_and_sequences(b)
    assert a.summary.residues == b.summary.residues == 5707
    assert a.summary.files[0].sha256 != b.summary.files[0].sha256


def test_duplicates_and_empty_records_are_dropped_with_warnings(tmp_path: Path) -> None:
    fasta = tmp_path / "db.fa"
    fasta.write_text(">a first\nACGUACGU\n>empty\n\n>b\nGGGGCCCC\n>a second copy of the name\nUUUU\n"
                     ">c same as b\nGGGGCCCC\n>d\nacgtn\n")
    db = database(fasta)
    seen = names_and_sequences(db)
    assert seen == {"a": "ACGUACGU", "b": "GGGGCCCC", "d": "ACGUN"}
    summary = db.summary
    assert (summary.files[0].records, summary.files[0].residues) == (6, 33)
    assert (summary.records, summary.residues) == (3, 21)
    warnings = summary.warnings()
    assert any("duplicate name" in w and "'a'" in w for w in warnings)
    assert any("exact duplicate sequence" in w and "'c'" in w for w in warnings)
    assert any("zero length" in w and "'empty'" in w for w in warnings)


def test_stockholm_database_is_read_unaligned(tmp_path: Path) -> None:
    sto = tmp_path / "seed.sto"
    sto.write_text("# STOCKHOLM 1.0\n\ns1 ACG-U.A\ns2 AC--UUA\n//\n")
    assert names_and_sequences(database(sto)) == {"s1": "ACGUA", "s2": "ACUUA"}


def test_truncated_gzip_database_is_refused_before_any_chunk(tmp_path: Path) -> None:
    """A cut-off download of the real genome: Easel's gzip pipe would read half of it without a word."""
    packed = (INFERNAL_DATA / "mrum-genome.fa.gz").read_bytes()
    truncated = tmp_path / "mrum-genome.fa.gz"
    truncated.write_bytes(packed[: len(packed) // 2])
    good = tmp_path / "metag.fa"
    good.write_bytes((INFERNAL_DATA / "metag-example.fa").read_bytes())
    chunks = database(good, truncated, volume_nt=1000).chunks()
    with pytest.raises(RnamsmError, match=r"mrum-genome\.fa\.gz: truncated or corrupt gzip file"):
        next(chunks)  # even the first volume, from the intact plain file, is not handed out
    corrupt = bytearray(packed)
    corrupt[-8] ^= 0xFF  # CRC of the last member
    truncated.write_bytes(bytes(corrupt))
    with pytest.raises(RnamsmError, match="truncated or corrupt gzip file"):
        database(truncated).scan()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name\tvalue\nx\t1\n", "not a FASTA, FASTA.gz or Stockholm file"),
        ("LOCUS       X 4 bp\nORIGIN\n        1 acgt\n//\n", "format 'genbank' is not supported"),
        ("", "empty database file"),
    ],
)
def test_unsupported_databases_are_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(content)
    with pytest.raises(RnamsmError, match=message) as error:
        database(bad).scan()
    assert str(bad) in str(error.value)
    with pytest.raises(RnamsmError, match="no such file, expected a database file"):
        database(tmp_path / "missing.fa")


def test_windows_cover_long_records_and_chunks_bound_memory(tmp_path: Path) -> None:
    assert window_starts(50, 100, 10) == [0]
    for length in (101, 190, 191, 1000, 12345):
        starts = window_starts(length, 100, 10)
        assert starts[0] == 0 and starts[-1] + 100 >= length
        assert all(b - a == 90 for a, b in zip(starts, starts[1:], strict=False))
    genome = INFERNAL_DATA / "mrum-genome.fa.gz"
    db = database(genome, INFERNAL_DATA / "metag-example.fa", volume_nt=400_000)
    chunks = list(db.chunks())
    assert len(chunks) > 5
    assert all(sum(len(s) for s in c.block) < 400_000 + 100_000 for c in chunks)
    pieces = {name: piece for chunk in chunks for name, piece in chunk.pieces.items()}
    assert pieces["NC_013790.1@0"].offset == 0 and "NC_013790.1@99000" in pieces
    assert (db.summary.residues, db.summary.records) == (2937203 + 5707, 4)
    # Same pieces, in a deterministic order, on every pass.
    again = [[s.name for s in chunk.block] for chunk in db.chunks()]
    assert again == [[s.name for s in chunk.block] for chunk in chunks]
