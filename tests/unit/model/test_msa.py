"""MSA reading (official normalisation, every format) and depth reduction."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from rnamsm.errors import RnamsmError
from rnamsm.formats import msa as msa_format
from rnamsm.model.alphabet import tokenize_msa
from rnamsm.model.depth import identity_filter_indices, reduce_depth
from rnamsm.model.msa import Msa, read_msa
from tests.conftest import INFERNAL_DATA, RNAMSM_EXAMPLE, require_program

QUERY_2DRB = "GGCCCGGGGCGGUUCGAUUCCGCCCUGGGCCACCA"


def test_official_a2m_msa2_example():
    msa = read_msa(RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2")
    assert (msa.depth, msa.length) == (1176, 35)
    assert msa.query == QUERY_2DRB and msa.names[0] == "2DRB_1"
    text = "".join(msa.rows)
    assert set(text) <= set("AGCUX-")
    assert text.count("X") == 5  # the file's two R, two N and one K
    tokens = tokenize_msa(msa.rows)
    assert tokens.shape == (1176, 36) and bool((tokens[:, 0] == 0).all())
    assert not bool((tokens == 9).any())  # a file never yields token N


def test_fasta_with_leading_blank_line_and_no_final_newline():
    raw = (RNAMSM_EXAMPLE / "2DRB_1.fasta").read_bytes()
    assert raw.startswith(b"\n") and not raw.endswith(b"\n")
    msa = read_msa(RNAMSM_EXAMPLE / "2DRB_1.fasta")
    assert msa.rows == (QUERY_2DRB,)


def test_a3m_inserts_are_removed(tmp_path):
    path = tmp_path / "x.a3m"
    path.write_text("#A3M comment\n>query desc\nGGCAUUCG\n>hit1\nGGcaCA-UuuCG\n>hit2\n--CAUtUCG*\n>hit3\nGG.C.AUUCN\n")
    msa = read_msa(path)
    assert msa.rows == ("GGCAUUCG", "GGCA-UCG", "--CAUUCG", "GGCAUUCX")
    assert msa.names == ("query", "hit1", "hit2", "hit3")


def test_stockholm_cmalign_output_keeps_rf_columns():
    """Real cmalign output: RF '.'/'~' columns (inserts, local-end inserts) are dropped, 72 match columns kept."""
    msa = read_msa(INFERNAL_DATA / "mrum-tRNAs10.cmalign.sto")
    assert (msa.depth, msa.length) == (10, 72)
    assert msa.names[0] == "mrum-tRNA.1"
    assert msa.rows[0] == "GGAGCUAUAGCUCAAUGGCAGAGCGUUUGGCUGACAUCCAAAAGGUUAUGGGUUCGAUUCCCUUUAGCCCCA"
    assert msa.rows[8].count("-") == 4  # mrum-tRNA.9 has a 4-column deletion before its local end


def test_stockholm_records_keep_the_inserts_as_lower_case():
    """The same cmalign file as A3M rows: insert residues lower case, their gaps dropped, sequences intact."""
    records = msa_format.read(INFERNAL_DATA / "mrum-tRNAs10.cmalign.sto").records
    msa = read_msa(INFERNAL_DATA / "mrum-tRNAs10.cmalign.sto")
    assert [name for name, _ in records] == list(msa.names)
    for (name, row), normalised in zip(records, msa.rows, strict=True):
        assert "".join(char for char in row if not char.islower()) == normalised, name
    inserted = [row for _, row in records if any(char.islower() for char in row)]
    assert inserted, "cmalign put some residues in insert columns"
    assert all("." not in row and "~" not in row for _, row in records)


def test_stockholm_without_rf_keeps_all_columns():
    msa = read_msa(INFERNAL_DATA / "tRNA5.sto")  # Rfam-style: upper case, '.' gaps, two blocks, no RF
    assert (msa.depth, msa.length) == (5, 74)
    assert msa.rows[1].startswith("UCCGAUAUAGUGUAAC-GGCU")


def test_gzip_and_stockholm_by_content(tmp_path):
    import gzip

    path = tmp_path / "aln.txt.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("# STOCKHOLM 1.0\nq ACGT.A\ns AC-T.a\n#=GC RF xxxx.x\n//\n")
    assert read_msa(path).rows == ("ACGUA", "AC-UA")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (">q\nACGU\n>s1\nACZU\n", "row 2 ('s1'): invalid character 'Z' at match column 3"),
        (">q\nACGU\n>s1\nACG\n", "row 2 ('s1') has 3 match columns, the query has 4"),
        ("ACGU\n>q\nACGU\n", "line 1: sequence text before the first '>' header"),
        ("", "no sequences found"),
        (">q\nacgu\n", "the query (row 1, 'q') has no match columns"),
        (">q\nAC GU\n", "invalid character ' '"),
        (">q\n----\n>s1\n----\n", "the query (row 1, 'q') is all gaps"),
    ],
)
def test_bad_msa_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "bad.a2m"
    path.write_text(text)
    with pytest.raises(RnamsmError) as error:
        read_msa(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_missing_and_unreadable(tmp_path):
    with pytest.raises(RnamsmError, match="no such file"):
        read_msa(tmp_path / "absent.a3m")
    binary = tmp_path / "binary.a3m"
    binary.write_bytes(b"\xff\xfe\x00>")
    with pytest.raises(RnamsmError, match="cannot read an MSA file: not UTF-8 text"):
        read_msa(binary)


def _naive_identity_filter(msa: Msa, max_seqs: int) -> list[int]:
    """Spec section 3 written out literally (slow), to check the blocked implementation."""
    kept: list[int] = []
    for index, row in enumerate(msa.rows):
        similar = False
        for other in kept:
            pairs = [(a, b) for a, b in zip(row, msa.rows[other], strict=True) if a != "-" and b != "-"]
            identity = sum(a == b for a, b in pairs) / len(pairs) if pairs else 0.0
            if identity >= 0.9:
                similar = True
                break
        if not similar:
            kept.append(index)
        if len(kept) == max_seqs:
            return kept
    rest = [index for index in range(msa.depth) if index not in kept]
    return sorted(kept + rest[: max_seqs - len(kept)])


def test_identity_filter_matches_the_spec_on_2drb1():
    msa = read_msa(RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2")
    subset = msa.select(list(range(300)))
    for max_seqs in (40, 250):  # stops early / tops up
        assert identity_filter_indices(subset, max_seqs, block=64) == _naive_identity_filter(subset, max_seqs)


def test_reduce_depth_2drb1_without_hhfilter(monkeypatch):
    monkeypatch.setenv("PATH", "")  # no hhfilter: the deterministic fallback
    msa = read_msa(RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2")
    reduced = reduce_depth(msa)
    assert reduced.method == "identity-filter" and reduced.input_depth == 1176 and 0 < reduced.survivors < 512
    assert reduced.msa.depth == 512 and reduced.msa.query == QUERY_2DRB
    again = reduce_depth(msa)
    assert again.msa.rows == reduced.msa.rows
    assert reduce_depth(msa.select(list(range(100)))).method == "none"
    with pytest.raises(RnamsmError, match="hhfilter"):
        reduce_depth(msa, method="hhfilter")
    with pytest.raises(RnamsmError, match="between 1 and 1024"):
        reduce_depth(msa, max_seqs=2000)


def test_reduce_depth_with_the_real_hhfilter():
    require_program("hhfilter")  # Debian hhsuite, installed by make demo / make test
    msa = read_msa(RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2")
    reduced = reduce_depth(msa)
    assert reduced.method == "hhfilter" and reduced.msa.query == QUERY_2DRB
    assert reduced.msa.depth == reduced.survivors == 60  # hh-suite 3.3.0: -id 90 leaves 60 of 1,176 rows
    positions = [msa.rows.index(row) for row in reduced.msa.rows]
    assert positions == sorted(positions)


def test_reduce_depth_calls_hhfilter_with_the_official_arguments(tmp_path, monkeypatch):
    """A stand-in hhfilter on PATH records its arguments and keeps every other row (query first)."""
    log = tmp_path / "args.txt"
    script = tmp_path / "hhfilter"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import sys\n"
        f"open({str(log)!r}, 'w').write(' '.join(sys.argv[1:]))\n"
        "args = dict(zip(sys.argv[1::2], sys.argv[2::2]))\n"
        "records = open(args['-i']).read().split('>')[1:]\n"
        "open(args['-o'], 'w').write(''.join('>' + r for r in records[::2]))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    msa = read_msa(RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2")
    reduced = reduce_depth(msa, max_seqs=512)
    assert reduced.method == "hhfilter"
    assert log.read_text().split()[2:] == ["-M", "a2m", "-o", log.read_text().split()[5], "-id", "90", "-diff", "512",
                                           "-cov", "0", "-qid", "0", "-qsc", "-20"]
    assert reduced.msa.rows == tuple(msa.rows[i] for i in range(0, 1024, 2))
    assert reduce_depth(msa, max_seqs=512, method="identity").method == "identity-filter"


def test_tokenize_rejects_unknown_characters():
    with pytest.raises(ValueError, match="'Z'"):
        tokenize_msa(["ACZU"])
    assert np.array_equal(tokenize_msa(["AGCUXN-"]).numpy(), [[0, 4, 5, 6, 7, 8, 9, 10]])
