"""Structure formats: bpseq, ct (incl. the official writer's layout), dot-bracket with pseudoknots."""

from __future__ import annotations

import pytest

from rnamsm.errors import RnamsmError
from rnamsm.formats.structure import (
    Structure,
    dbn_to_pairs,
    format_bpseq,
    format_ct,
    format_dbn,
    pairs_to_dbn,
    parse_bpseq,
    parse_ct,
    parse_dbn,
    parse_pair_list,
    read_structure,
    write_structure_files,
)
from tests.conftest import RNAMSM_EXAMPLE


def test_official_ct_with_double_tabs_and_blank_line() -> None:
    ct = read_structure(RNAMSM_EXAMPLE / "2DRB_1.ct")
    assert ct.name == "2DRB_1"
    assert len(ct.sequence) == 35 and len(ct.pairs) == 13
    assert (1, 31) in ct.pairs and (13, 17) in ct.pairs


def test_round_trips(tmp_path) -> None:
    structure = Structure("s1", "GGGAAACCCAGGGAAACCCU", {(1, 9), (2, 8), (3, 7), (11, 19), (12, 18)})
    written = write_structure_files(structure, tmp_path)
    for path in written.values():
        assert read_structure(path).pairs == structure.pairs
        assert read_structure(path).sequence == structure.sequence
    assert parse_bpseq(format_bpseq(structure), "s1", "x").pairs == structure.pairs
    assert parse_ct(format_ct(structure), "s1", "x")[0].pairs == structure.pairs
    assert parse_dbn(format_dbn(structure), "s1", "x").pairs == structure.pairs


def test_pseudoknot_levels() -> None:
    # H-type pseudoknot: the larger stem gets (), the crossing one [].
    pairs = {(1, 12), (2, 11), (3, 10), (5, 16), (6, 15)}
    assert pairs_to_dbn(pairs, 16) == "(((.[[...)))..]]"
    # (3,8) and (4,9) cross each other and both cross (1,5)/(6,10): levels (), [], {}
    assert pairs_to_dbn({(1, 5), (3, 8), (6, 10), (4, 9)}, 10) == "(.[{)(.]})"
    # three mutually crossing pairs -> (), [], {}
    assert pairs_to_dbn({(1, 4), (2, 5), (3, 6)}, 6) == "([{)]}"
    assert dbn_to_pairs("((..[[..))..]]Aa", "x") == {(1, 10), (2, 9), (5, 14), (6, 13), (15, 16)}


def test_wuss_consensus_characters() -> None:
    assert dbn_to_pairs("<<_>>,,::~~--", "x") == {(1, 5), (2, 4)}


def test_unbalanced_and_multiplets_are_errors() -> None:
    with pytest.raises(RnamsmError, match="unbalanced"):
        dbn_to_pairs("((.)", "x")
    with pytest.raises(RnamsmError, match="unbalanced"):
        dbn_to_pairs("(.))", "x")
    multiplet = Structure("m", "GGAACC", {(1, 6), (1, 5)})
    for writer in (format_bpseq, format_ct):
        with pytest.raises(RnamsmError, match="more than one pair"):
            writer(multiplet)
    with pytest.raises(RnamsmError):
        format_dbn(multiplet)


def test_bpseq_reader_checks_symmetry_and_skips_headers() -> None:
    text = "Filename: x\n# name\n1 G 3\n2 A 0\n3 C 1\n"
    assert parse_bpseq(text, "x", "x").pairs == {(1, 3)}
    with pytest.raises(RnamsmError, match="lists"):
        parse_bpseq("1 G 3\n2 A 0\n3 C 0\n", "x", "x")


def test_pair_list_needs_an_explicit_base() -> None:
    assert parse_pair_list("# index_base=0\n0 4 0.9\n", "GAAAC", "x", 0, "x").pairs == {(1, 5)}
    assert parse_pair_list("1 5\n", "GAAAC", "x", 1, "x").pairs == {(1, 5)}
    with pytest.raises(RnamsmError):
        parse_pair_list("1 5\n", "GAAAC", "x", 2, "x")
    with pytest.raises(RnamsmError, match="outside"):
        parse_pair_list("1 9\n", "GAAAC", "x", 1, "x")
