"""Hit alignments to A3M rows: nhmmer domains and cmsearch hits with local ends, truncations, minus strand."""

from __future__ import annotations

import json

import pytest
from pyhmmer.easel import Alphabet, TextSequence

from rnamsm.errors import RnamsmError
from rnamsm.formats.msa import match_columns
from rnamsm.homology.rows import cm_row, nhmmer_row, subsequence
from tests.conftest import RNAMSM_OUTPUTS


def fetch_from(residues: str):
    return lambda offset, count: residues[offset : offset + count]


def test_nhmmer_row_pads_and_lowercases_inserts() -> None:
    # Real nhmmer domain (mrum-tRNA.1 vs the genome): model columns 6..71 of 72, two inserted residues.
    hmm = "uauagcucaa..uggcagagcguuuggcugacauccaaaagguuauggguucgauucccuuuagcccc"
    target = "CAUAGCUUAGccAGGUAGAGCGCUCGGCUCAUAACCGGGAUGUCAUGGGUUCGAAUCCCAUUGGGCCC"
    row = nhmmer_row(6, 71, hmm, target, 72)
    assert len(match_columns(row)) == 72
    assert row.startswith("-----CAUAGCUUAGccAGG")
    assert row.endswith("GGGCCC-")
    assert "".join(c for c in row if c != "-").upper() == target.upper()


def test_cm_row_plain_hit_with_insert_and_deletion() -> None:
    cm = "gCcgg.cAUAG"
    target = "GC-GGaCAUAG"
    row = cm_row(3, 12, cm, target, 14, 10, fetch_from("GCGGACAUAG"), "t/1-10")
    assert row == "--GC-GGaCAUAG--"
    assert len(match_columns(row)) == 14


def test_cm_row_local_end_fetches_hidden_residues() -> None:
    # 5 consensus columns skipped by the local end, 3 target residues not shown ("ccc").
    cm = "gcA*[ 5]*Ugc"
    target = "GCA*[ 3]*UGC"
    hit_residues = "GCACCCUGC"
    row = cm_row(1, 11, cm, target, 11, 9, fetch_from(hit_residues), "t/1-9")
    assert row == "GCA-----cccUGC"
    assert len(match_columns(row)) == 11
    assert match_columns(row) == "GCA-----UGC"


def test_cm_row_skips_truncation_markers() -> None:
    # 5' truncated hit: the CM columns before cm_from are outside the target (a window edge).
    cm = "<[ 4]*gcAUgc"
    target = "<[ 0]*GCAUGC"
    row = cm_row(5, 10, cm, target, 12, 6, fetch_from("GCAUGC"), "t/1-6")
    assert row == "----GCAUGC--"
    cm3 = "gcAUgc*[ 3]>"
    target3 = "GCAUGC*[ 0]>"
    assert cm_row(1, 6, cm3, target3, 9, 6, fetch_from("GCAUGC"), "t/1-6") == "GCAUGC---"


def test_cm_row_self_check_names_the_hit() -> None:
    with pytest.raises(RnamsmError, match=r"hit t/1-7: row consumed 6 residues, the hit spans 7"):
        cm_row(1, 6, "gcAUgc", "GCAUGC", 6, 7, fetch_from("GCAUGCA"), "t/1-7")
    # The alignment shows 6 consensus columns but claims to span 1..5.
    with pytest.raises(RnamsmError, match=r"hit t/1-6: row has 7 match columns, the CM has 6"):
        cm_row(1, 5, "gcAUgc", "GCAUGC", 6, 6, fetch_from("GCAUGC"), "t/1-6")


def test_subsequence_minus_strand_is_reverse_complement() -> None:
    sequence = TextSequence(name="s", sequence="AACCGGUUA").digitize(Alphabet.rna())
    assert subsequence(sequence, 2, 5) == "ACCG"
    assert subsequence(sequence, 5, 2) == "CGGU"


def test_cm_row_ignores_the_padding_of_real_display_lines() -> None:
    # A real pyinfernal hit whose two alignment lines end in 7 spaces: they are not consensus columns.
    hit = json.loads((RNAMSM_OUTPUTS / "cmsearch_hit_padded.json").read_text())
    assert hit["cm_sequence"].endswith(" " * 7) and hit["target_sequence"].endswith(" " * 7)
    residues = abs(hit["target_to"] - hit["target_from"]) + 1
    row = cm_row(hit["cm_from"], hit["cm_to"], hit["cm_sequence"], hit["target_sequence"], hit["clen"], residues,
                 fetch_from(""), "CPA54/2-294")
    assert len(match_columns(row)) == hit["clen"]
    assert " " not in row
    assert len(row.replace("-", "")) == residues
