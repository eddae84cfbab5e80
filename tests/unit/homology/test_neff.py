"""Neff, identity to the query, coverage and the row filters."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rnamsm.formats import msa as msa_format
from rnamsm.homology.filters import filter_rows
from rnamsm.homology.neff import coverage, encode, identity_to_query, neff
from rnamsm.homology.rows import HitRow
from tests.conftest import RNAMSM_EXAMPLE


def brute_force_neff(rows: list[str], identity: float) -> float:
    total = 0.0
    for a in rows:
        same = sum(sum(x == y for x, y in zip(a, b, strict=True)) >= identity * len(a) for b in rows)
        total += 1 / same
    return total


@settings(max_examples=50, deadline=None)
@given(
    st.integers(min_value=1, max_value=10).flatmap(
        lambda length: st.lists(st.text(alphabet="ACGUN-", min_size=length, max_size=length), min_size=1, max_size=9)
    ),
    st.sampled_from([0.5, 0.8, 1.0]),
)
def test_neff_matches_brute_force(rows: list[str], identity: float) -> None:
    value, approx = neff(encode(rows), identity, block=4)
    assert not approx
    assert abs(value - brute_force_neff(rows, identity)) < 1e-9


def test_neff_of_official_msa_and_cap() -> None:
    rows = list(msa_format.read(RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2").rows)
    codes = encode(rows)
    value, approx = neff(codes, 0.8)
    assert 1 < value < len(rows) and not approx
    capped, approx = neff(codes, 0.8, max_rows=100)
    assert approx and capped == neff(codes[:100], 0.8)[0]


def test_identity_and_coverage() -> None:
    codes = encode(["ACGU", "AC--", "UCGA"])
    assert identity_to_query(codes).tolist() == [0.5, 0.5]
    assert np.allclose(coverage(codes), [1, 1, 2 / 3, 2 / 3])


def hit(row: str, n: int) -> HitRow:
    return HitRow(f"t{n}", f"t{n}", "", 1, 10, "+", 10.0**-n, 50.0 - n, 2, True, row)


def test_filters_in_order_and_query_kept_first() -> None:
    query = "ACGUACGUAC"
    hits = [
        hit("ACGUACGUAC", 1),  # the query's self-hit: duplicate
        hit("ACGUACGUAG", 2),
        hit("ACGUAcCGUAG", 3),  # same match string as row 2 (insert ignored): duplicate
        hit("ACGU------", 4),  # 4/10 residues: below 50% coverage
        hit("UCGUACGUAG", 5),
        hit("UUUUUUUUUU", 6),
    ]
    kept, counts = filter_rows(query, hits, min_coverage=0.5, max_identity=None, max_rows=50000)
    assert [h.target for h in kept] == ["t2", "t5", "t6"]
    assert (counts.duplicates, counts.low_coverage, counts.identity, counts.depth_cap) == (2, 1, 0, 0)
    kept, counts = filter_rows(query, hits, min_coverage=0.5, max_identity=0.9, max_rows=50000)
    # t2 is 90% identical to the query (dropped); t5 is 80% identical to the query, the only kept row.
    assert [h.target for h in kept] == ["t5", "t6"] and counts.identity == 1
    kept, counts = filter_rows(query, hits, min_coverage=0.5, max_identity=None, max_rows=3)
    assert [h.target for h in kept] == ["t2", "t5"] and counts.depth_cap == 1


def test_identity_filter_is_greedy_against_kept_rows() -> None:
    query = "AAAAAAAAAA"
    rows = ["CCCCCCCCCC", "CCCCCCCCCG", "GGGGGGGGGG"]
    kept, _ = filter_rows(query, [hit(r, n) for n, r in enumerate(rows, 1)], min_coverage=0, max_identity=0.9,
                          max_rows=10)
    assert [h.a3m for h in kept] == ["CCCCCCCCCC", "GGGGGGGGGG"]
    assert all(a != b for a, b in itertools.combinations([query] + [h.a3m for h in kept], 2))
