"""`rnamsm validate-input`: normalisation, its settings, and one clear line for every kind of bad input."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnamsm.formats.query import format_fasta, read_queries
from rnamsm.input.validate import InputSettings
from tests.conftest import INFERNAL_DATA, REPO_ROOT
from tests.support.schema import assert_defaults_match

DEMO_QUERIES = REPO_ROOT / "resources" / "demo" / "queries"


def run_validate(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rnamsm", "validate-input", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )


def test_normalises_real_trnas(tmp_path: Path) -> None:
    out = tmp_path / "out.fa"
    result = run_validate(DEMO_QUERIES / "mrum-tRNAs10.fa", "-o", out)
    assert result.returncode == 0, result.stderr
    records = list(read_queries(out))
    assert [record.id for record in records] == [f"mrum-tRNA.{n}" for n in range(1, 11)]
    assert records[0].sequence.startswith("GGAGCUAUAGCUCAAUGGCAGAGCG")
    assert all(set(record.sequence) <= set("ACGU") for record in records)


def test_dna_lowercase_crlf_blank_lines_and_gzip(tmp_path: Path) -> None:
    text = ">Cob riboswitch, DNA\r\n\r\ngtaggcaaaaggaagagg\r\naaggaTGGTGG\r\n\r\n>second\r\nACGUACGUACGUNRY\r\n"
    source = tmp_path / "in.fa.gz"
    source.write_bytes(gzip.compress(text.encode()))
    out = tmp_path / "out.fa"
    result = run_validate(source, "-o", out)
    assert result.returncode == 0, result.stderr
    assert out.read_text() == (
        ">Cob riboswitch, DNA\nGUAGGCAAAAGGAAGAGGAAGGAUGGUGG\n>second\nACGUACGUACGUNRY\n"
    )


def test_inline_sequence_and_rename(tmp_path: Path) -> None:
    out = tmp_path / "q.fa"
    result = run_validate("--sequence", "ggccc gggGCGGTTCG", "--id", "q1", "-o", out)
    assert result.returncode == 0, result.stderr
    assert out.read_text() == ">q1\nGGCCCGGGGCGGUUCG\n"
    renamed = tmp_path / "r.fa"
    result = run_validate(DEMO_QUERIES / "mrum-tRNAs10.fa", "--id", "mrum-tRNA.3", "--rename", "s3", "-o", renamed)
    assert result.returncode == 0, result.stderr
    assert renamed.read_text().splitlines()[0] == ">s3 mrum-tRNA.3"


def test_query_from_a_row_of_the_alignment(tmp_path: Path) -> None:
    """--msa: the row named --id (Rfam's accession/start-end names kept as the description under --rename),
    else the first row; inserts (lower case, RF '.') and gaps dropped."""
    out = tmp_path / "q.fa"
    result = run_validate("--msa", INFERNAL_DATA / "PK-HAV.sto", "--id", "X15462.1/90-145", "--rename", "hav",
                          "-o", out)
    assert result.returncode == 0, result.stderr
    assert out.read_text() == ">hav X15462.1/90-145\nUUAAACAAACCUUCUUAAAAUUUCUGAGAUUUGUUUAUUUUGCAUAUUCAGUAAAU\n"
    result = run_validate("--msa", INFERNAL_DATA / "mrum-tRNAs10.cmalign.sto", "-o", out)
    assert result.returncode == 0, result.stderr
    first = next(read_queries(DEMO_QUERIES / "mrum-tRNAs10.fa"))
    assert out.read_text() == f">{first.id}\n{first.sequence}\n"
    for extra, expected in ((("--id", "nope"), "PK-HAV.sto: no row named 'nope'"),
                            (("--sequence", "ACGUACGUACGU", "--id", "x"), "give one of")):
        result = run_validate("--msa", INFERNAL_DATA / "PK-HAV.sto", *extra, "-o", out)
        assert result.returncode == 1 and expected in result.stderr and len(result.stderr.splitlines()) == 1


def test_input_settings_defaults_are_the_schemas() -> None:
    assert_defaults_match(InputSettings, "input")


def test_min_length_from_the_config_section_and_the_flag(tmp_path: Path) -> None:
    """The workflow passes its ``input`` section as --config-json; --min-length overrides it."""
    source = tmp_path / "short.fa"
    source.write_text(">q1\nACGUACG\n")
    out = tmp_path / "q.fa"
    result = run_validate(source, "--config-json", '{"min_length": 7}', "-o", out)
    assert result.returncode == 0, result.stderr
    assert out.read_text() == ">q1\nACGUACG\n"
    result = run_validate(source, "--config-json", '{"min_length": 7}', "--min-length", "8", "-o", tmp_path / "r.fa")
    assert result.returncode == 1 and "shorter than the minimum of 8 nt" in result.stderr
    result = run_validate(source, "--config-json", '{"min_length": 0}', "-o", tmp_path / "r.fa")
    assert result.returncode == 1 and "--config-json: min_length must be at least 1, got 0" in result.stderr
    assert not (tmp_path / "r.fa").exists()


BAD_INPUTS = {
    "empty": (b"", "empty input"),
    "only_blank_lines": (b"\n\n\n", "empty input"),
    "not_fasta": (b"This is a README, not sequences.\n", "not FASTA"),
    "binary_junk": (bytes(range(256)) * 4, "not FASTA"),
    "invalid_character": (b">q1\nACGUACGUACGUZACG\n", "record 'q1': invalid character 'Z'"),
    "digit": (b">q1\nACGUACGU12ACGU\n", "record 'q1': invalid character '1'"),
    "gap_character": (b">ok\nACGUACGUACGU\n>q2\nACGU-ACGUACGU\n", "record 'q2': invalid character '-'"),
    "duplicate_id": (b">q1\nACGUACGUACGU\n>q1 again\nGGGGCCCCAAAA\n", "record 'q1': duplicate id"),
    "empty_id": (b">q1\nACGUACGUACGU\n>\nGGGGCCCCAAAA\n", "empty id"),
    "path_separator": (b">../etc/passwd\nACGUACGUACGU\n", "path separator"),
    "dot_dot": (b">a..b\nACGUACGUACGU\n", "'..'"),
    "backslash": (b">a\\b\nACGUACGUACGU\n", "path separator"),
    "control_character": (b">a\x01b\nACGUACGUACGU\n", "control character"),
    "too_long_id": (b">" + b"a" * 129 + b"\nACGUACGUACGU\n", "longer than 128"),
    "too_short": (b">q1\nACGUACGUA\n", "record 'q1': sequence is 9 nt, shorter than the minimum of 10 nt"),
    "empty_sequence": (b">q1\n>q2\nACGUACGUACGU\n", "record 'q1': sequence is 0 nt"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_clear_line(case: str, tmp_path: Path) -> None:
    content, expected = BAD_INPUTS[case]
    source = tmp_path / f"{case}.fa"
    source.write_bytes(content)
    out = tmp_path / "out" / "query.fa"
    result = run_validate(source, "-o", out)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert str(source) in lines[0] and expected in lines[0], lines[0]
    assert not out.exists()
    assert not list(tmp_path.glob("out/*"))


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda path: None, "no such file"),
        (lambda path: path.mkdir(), "is a directory"),
    ],
    ids=["missing", "directory"],
)
def test_missing_or_directory_input(tmp_path: Path, setup, expected: str) -> None:
    source = tmp_path / "queries.fa"
    setup(source)
    result = run_validate(source, "-o", tmp_path / "out.fa")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and expected in result.stderr
    assert not (tmp_path / "out.fa").exists()


def test_failed_run_keeps_the_previous_output(tmp_path: Path) -> None:
    out = tmp_path / "query.fa"
    out.write_text(">old\nACGUACGUACGU\n")
    source = tmp_path / "bad.fa"
    source.write_text(">q1\nACGUXXXX!\n")
    assert run_validate(source, "-o", out).returncode == 1
    assert out.read_text() == ">old\nACGUACGUACGU\n"


record_ids = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="/\\"), min_size=1, max_size=40
).filter(lambda value: ".." not in value and not value.startswith(">"))
sequences = st.text(alphabet="ACGUTRYKMSWBDHVNacgutrykmswbdhvn", min_size=10, max_size=300)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    records=st.lists(st.tuples(record_ids, sequences, st.sampled_from(["", "a description"])), min_size=1, max_size=5,
                     unique_by=lambda record: record[0]),
    line_width=st.integers(min_value=1, max_value=120),
    newline=st.sampled_from(["\n", "\r\n"]),
    compress=st.booleans(),
)
def test_valid_fasta_round_trips(tmp_path_factory, records, line_width, newline, compress) -> None:
    """Any valid FASTA comes back unchanged apart from normalisation (upper case, T -> U, one line)."""
    text = ""
    for record_id, sequence, description in records:
        text += f">{record_id} {description}".rstrip() + newline
        text += newline.join(sequence[i : i + line_width] for i in range(0, len(sequence), line_width)) + newline
    folder = tmp_path_factory.mktemp("roundtrip")
    source = folder / ("in.fa.gz" if compress else "in.fa")
    source.write_bytes(gzip.compress(text.encode()) if compress else text.encode())
    parsed = list(read_queries(source))
    assert [(r.id, r.description, r.sequence) for r in parsed] == [
        (record_id, description, sequence.upper().replace("T", "U")) for record_id, sequence, description in records
    ]
    out = folder / "out.fa"
    out.write_text(format_fasta(parsed))
    assert list(read_queries(out)) == parsed


# --- ids that become file names, lengths, special files (issue: hostile input) ----------------------

TRNA = "GGAGCUAUAGCUCAAUGGCAGAGCGUUUGGCUGACAUCCAAAAGGUUAUGGGUUCGAUUCCCUUUAGCCCCA"
#: Rfam-style FASTA: ids are ``accession/start-end``, as in Rfam's full-region files.
RFAM_FASTA = f">AB001721.1/2-116 tRNA-Ala\n{TRNA}\n>good_one tRNA\n{TRNA[::-1]}\n"


def test_rfam_style_ids_of_other_records_do_not_refuse_the_file(tmp_path: Path) -> None:
    source = tmp_path / "rfam.fa"
    source.write_text(RFAM_FASTA)
    picked = run_validate(source, "--id", "good_one", "-o", tmp_path / "good.fa")
    assert picked.returncode == 0, picked.stderr
    assert (tmp_path / "good.fa").read_text() == f">good_one tRNA\n{TRNA[::-1]}\n"
    renamed = run_validate(source, "--id", "good_one", "--rename", "s1", "-o", tmp_path / "s1.fa")
    assert renamed.returncode == 0, renamed.stderr
    # The Rfam record itself, renamed to a sample id (what the workflow does), keeps its id as description.
    rfam = run_validate(source, "--id", "AB001721.1/2-116", "--rename", "s2", "-o", tmp_path / "s2.fa")
    assert rfam.returncode == 0, rfam.stderr
    assert (tmp_path / "s2.fa").read_text() == f">s2 AB001721.1/2-116 tRNA-Ala\n{TRNA}\n"


def test_unsafe_id_that_would_name_the_output_is_refused_with_a_hint(tmp_path: Path) -> None:
    source = tmp_path / "rfam.fa"
    source.write_text(RFAM_FASTA)
    for extra in (["--id", "AB001721.1/2-116"], []):
        result = run_validate(source, *extra, "-o", tmp_path / "out.fa")
        assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
        assert "record 'AB001721.1/2-116': id contains a path separator" in result.stderr
        assert "--rename" in result.stderr
    assert not (tmp_path / "out.fa").exists()


#: Ids that look harmless in a listing but hold invisible or reordering characters.
INVISIBLE_IDS = {
    "right_to_left_override": "invoice\u202efdp.exe",
    "c1_control": "a\u0085b",
    "zero_width_space": "a\u200bb",
    "byte_order_mark": "\ufeffq1",
    "line_separator": "a\u2028b",
}


@pytest.mark.parametrize("case", sorted(INVISIBLE_IDS))
def test_ids_with_invisible_or_control_characters_are_refused(case: str, tmp_path: Path) -> None:
    record_id = INVISIBLE_IDS[case]
    code = f"U+{ord(next(char for char in record_id if not char.isalnum() and char not in '.')):04X}"
    source = tmp_path / "q.fa"
    source.write_text(f">{record_id}\n{TRNA}\n", encoding="utf-8")
    as_read = run_validate(source, "-o", tmp_path / "out.fa")
    renamed = run_validate(source, "--rename", record_id, "-o", tmp_path / "out.fa")
    inline = run_validate("--sequence", TRNA, "--id", record_id, "-o", tmp_path / "out.fa")
    for result in (as_read, renamed, inline):
        assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
        assert f"invisible or control character {code}" in result.stderr, result.stderr
    # rnamsm search names its files after the id: refused before anything is written.
    search = subprocess.run(
        [sys.executable, "-m", "rnamsm", "search", str(source), "--db", str(source),
         "--out-dir", str(tmp_path / "msa")], capture_output=True, text=True, cwd=REPO_ROOT,
    )
    assert search.returncode == 1 and search.stderr.count("\n") == 1, search.stderr
    assert f"invisible or control character {code}" in search.stderr and "names the MSA files" in search.stderr
    assert not (tmp_path / "out.fa").exists() and not (tmp_path / "msa").exists()
    # A renamed copy of the same record is fine (the workflow's path).
    assert run_validate(source, "--rename", "s1", "-o", tmp_path / "s1.fa").returncode == 0


def test_maximum_query_length(tmp_path: Path) -> None:
    source = tmp_path / "long.fa"
    source.write_text(f">long\n{'ACGU' * 25}A\n>short\n{'ACGU' * 25}\n")  # 101 and 100 nt
    limited = run_validate(source, "--id", "long", "--rename", "s_long", "--max-length", "100", "-o", tmp_path / "o.fa")
    assert limited.returncode == 1 and limited.stderr.count("\n") == 1, limited.stderr
    assert "sample 's_long'" in limited.stderr and "sequence is 101 nt, longer than the maximum of 100 nt" in (
        limited.stderr)
    assert run_validate(source, "--id", "short", "--max-length", "100", "-o", tmp_path / "o.fa").returncode == 0
    # The default limit (3,500 nt) refuses 3,501 nt; the 20,000-nt query that exhausted the model's memory is
    # refused in one line before any model runs.
    for length in (3501, 20_000):
        long = tmp_path / f"q{length}.fa"
        long.write_text(f">q{length}\n{('ACGU' * length)[:length]}\n")
        result = run_validate(long, "--rename", "big", "-o", tmp_path / "big.fa")
        assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
        assert f"sample 'big' ({long}): sequence is {length:,} nt, longer than the maximum of 3,500 nt" in (
            result.stderr)
    assert not (tmp_path / "big.fa").exists()
    bad = run_validate(source, "--max-length", "0", "-o", tmp_path / "o2.fa")
    assert bad.returncode == 1 and "--max-length must be at least 1" in bad.stderr
