"""Query FASTA (rnamsm.formats.query): the one reader, the one alphabet and its stage mappings."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyhmmer.easel
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnamsm.errors import RnamsmError
from rnamsm.formats import query as query_format
from rnamsm.formats.query import IUPAC_NUCLEOTIDES, Query, model_residues, search_sequence
from tests.conftest import INFERNAL_DATA, RNAMSM_EXAMPLE, RNAMSM_OUTPUTS
from tests.support.fuzzing import fuzz_inputs


def test_demo_query_reads_and_writes_back_byte_for_byte(tmp_path: Path) -> None:
    query = query_format.read(RNAMSM_OUTPUTS / "Cobalamin.query.fa")
    assert (query.id, query.description, len(query)) == ("Cobalamin", "Cobalamin.1", 103)
    query_format.write(query, tmp_path / "query.fa")
    assert (tmp_path / "query.fa").read_bytes() == (RNAMSM_OUTPUTS / "Cobalamin.query.fa").read_bytes()


def test_real_multi_record_file_and_the_one_record_reader() -> None:
    records = list(query_format.read_queries(INFERNAL_DATA / "mrum-tRNAs10.fa"))
    assert [record.id for record in records] == [f"mrum-tRNA.{n}" for n in range(1, 11)]
    with pytest.raises(RnamsmError, match=r"mrum-tRNAs10.fa: expected exactly one query record, found 10"):
        query_format.read(INFERNAL_DATA / "mrum-tRNAs10.fa")
    # The official example starts with a blank line and has no final newline.
    assert query_format.read(RNAMSM_EXAMPLE / "2DRB_1.fasta").sequence == "GGCCCGGGGCGGUUCGAUUCCGCCCUGGGCCACCA"


def test_the_stage_alphabets() -> None:
    """One normalisation on read; the search sees ACGU+N, the model the official IUPAC -> X."""
    sequence = query_format.normalise_sequence("acgtRYKMSWBDHVNu")
    assert sequence == "ACGURYKMSWBDHVNU" and set(sequence) <= IUPAC_NUCLEOTIDES
    assert search_sequence(sequence) == "ACGUNNNNNNNNNNNU"
    assert model_residues(sequence) == "ACGUXXXXXXXXXXXU"
    assert model_residues("AC-T") == "AC-U"
    assert query_format.normalise_sequence("ßacgu") == "ßACGU"  # only ASCII letters change (no 'ß' -> 'SS')


def test_short_queries_are_read_after_validation(tmp_path: Path) -> None:
    """``read`` takes any length (validation applied the minimum); ``read_queries`` applies its minimum."""
    path = tmp_path / "q.fa"
    path.write_text(">q\nACGUA\n")
    assert query_format.read(path) == Query("q", "", "ACGUA")
    with pytest.raises(RnamsmError, match="sequence is 5 nt, shorter than the minimum of 10 nt"):
        list(query_format.read_queries(path))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b">q1\nAC>GU\n", "record 'q1': invalid character '>' at position 3"),
        (b">q1\nACGU\xc3\x9fACGUACGU\n", "record 'q1': invalid character '\u00df' at position 5"),
        (b">q1\nACGUACGUACGU\n" + b"A" * 10000 + b"\0\n", "binary file, not FASTA"),
        (b">q1 \xff\nACGUACGUACGU\n", "record 1: header is not valid UTF-8 text"),
        (b"\x1f\x8b\x08\x00junk", "cannot read"),
    ],
    ids=["gt_inside_a_line", "non_ascii_letter", "late_nul", "header_not_utf8", "broken_gzip"],
)
def test_bad_bytes_are_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "q.fa"
    path.write_bytes(content)
    with pytest.raises(RnamsmError) as error:
        list(query_format.read_queries(path, min_length=1))
    assert str(path) in str(error.value) and message in str(error.value) and "\n" not in str(error.value)


def test_gzip_is_recognised_by_content(tmp_path: Path) -> None:
    path = tmp_path / "query.fa"
    path.write_bytes(gzip.compress(b">q1 a b\r\nacgu\racgu\n  acgu\t\n"))
    assert query_format.read(path) == Query("q1", "a b", "ACGUACGUACGU")


def _easel_records(path: Path) -> list[tuple[str, str, str]] | None:
    """Easel's own parse (pyhmmer): (id, description, sequence), or None when it refuses the file."""
    try:
        with pyhmmer.easel.SequenceFile(str(path), format="fasta") as handle:
            return [(record.name, record.description.rstrip(), record.sequence) for record in handle]
    except (ValueError, EOFError, OSError, UnicodeDecodeError):
        return None


def _refused_on_purpose(data: bytes) -> bool:
    """A truncated '.gz', or text with a NUL byte (binary, not FASTA): refused where Easel reads on."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError):
            return True
    return b"\x00" in data


def _acceptable(records: list[tuple[str, str, str]]) -> bool:
    """Easel's records pass the reader's checks (unique ids, IUPAC alphabet, at least 1 nt)."""
    ids = [record_id for record_id, _, _ in records]
    return bool(records) and len(set(ids)) == len(ids) and all(
        sequence and set(query_format.normalise_sequence(sequence)) <= IUPAC_NUCLEOTIDES for _, _, sequence in records
    )


_PIECES = [">", ">q1", ">q2 d", "\n", "\r\n", "\r", " ", "\t", "ACGU", "acgt", "NRY", "-", "*", "1", "\x0b", "é",
           "  >q3 x y ", "#", "Z"]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(fuzz_inputs("fasta"), st.lists(st.sampled_from(_PIECES), max_size=40).map(
    lambda parts: "".join(parts).encode("utf-8"))))
def test_reader_agrees_with_easel(tmp_path_factory, data: bytes) -> None:
    """The pure-Python reader (usable without pyhmmer, e.g. by the report) reads files as Easel did.

    Whatever it accepts, Easel parses to the same records; whatever Easel parses to acceptable records,
    it accepts. The deliberate differences: Easel starts a new record at a '>' inside a sequence
    line, this reader refuses it as an invalid character; Easel's gzip pipe reads a truncated '.gz' as far
    as it goes, this reader refuses it (a cut-off file is not a shorter query file); a NUL byte makes
    the file binary for this reader, wherever it stands.
    """
    folder = tmp_path_factory.mktemp("easel")
    path = folder / ("in.fa.gz" if data[:2] == b"\x1f\x8b" else "in.fa")  # Easel needs the suffix
    path.write_bytes(data)
    try:
        ours = [(r.id, r.description, r.sequence) for r in query_format.read_queries(path, min_length=1)]
    except RnamsmError:
        ours = None
    easel = _easel_records(path)
    if ours is not None:
        assert easel is not None
        assert ours == [(i, d, query_format.normalise_sequence(s)) for i, d, s in easel]
    elif easel is not None and _acceptable(easel) and not _refused_on_purpose(data):
        lines = data.replace(b"\r", b"\n").split(b"\n")
        assert any(b">" in line and not line.lstrip(b" \t").startswith(b">") for line in lines)
