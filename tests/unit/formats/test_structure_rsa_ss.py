"""rnamsm.formats for the heads' files: ss.json, RSA tables, and the dot-bracket rules the other stages share."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnamsm.errors import RnamsmError
from rnamsm.formats import rsa_table, ss_summary
from rnamsm.formats.rsa_table import RsaChain
from rnamsm.formats.ss_summary import SsSummary
from rnamsm.formats.structure import first_level_dbn, nested_dbn, pairs_to_dbn, prob_npy_bytes, read_prob_npy
from rnamsm.formats.structure import read_dbn_line as read_search_structure
from tests.conftest import RNAMSM_EXAMPLE

SUMMARY = SsSummary("GGGAAACCCA", "(((...))).", ((1, 9), (2, 8), (3, 7)), 0.516, False, 0, "ab" * 32, True)


# --- ss.json ---------------------------------------------------------------------------------------


def test_ss_json_round_trips_with_sorted_keys_and_indent_2(tmp_path) -> None:
    path = tmp_path / "ss.json"
    ss_summary.write(SUMMARY, path)
    text = path.read_text()
    assert ss_summary.read(path) == SUMMARY
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert json.loads(text)["pairs"] == [[1, 9], [2, 8], [3, 7]]
    assert sorted(json.loads(text)) == ["canonical_only", "dbn", "head_sha256", "min_hairpin", "pairs", "sequence",
                                        "threshold", "weights_untrained"]


def _document(**changes: object) -> str:
    document = json.loads(SUMMARY.to_json())
    for key, value in changes.items():
        if value is None:
            del document[key]
        else:
            document[key] = value
    return json.dumps(document)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"canonical_only": None}, "ss.json: missing key(s) canonical_only"),
        ({"pairs": [[1, 12]]}, "ss.json: pair [1, 12] is not 1 <= i < j <= 10"),
        ({"pairs": [[9, 1], [2, 8], [3, 7]]}, "ss.json: pair [9, 1] is not 1 <= i < j <= 10"),
        ({"pairs": [[1, 9]]}, "ss.json: pairs differ from the pairs of dbn"),
        ({"pairs": [[1.0, 9]]}, "ss.json: pairs must be a list of [i, j] integer pairs"),
        ({"dbn": "((....)))."}, "ss.json: dbn: unbalanced ')' at position 9"),
        ({"dbn": "(((...)))"}, "ss.json: dbn has 9 characters, the sequence 10 nt"),
        ({"threshold": "0.5"}, "ss.json: threshold must be a number in [0, 1]"),
        ({"min_hairpin": -1}, "ss.json: min_hairpin must be an integer >= 0"),
        ({"weights_untrained": "yes"}, "ss.json: weights_untrained must be true or false"),
    ],
)
def test_ss_json_is_checked_on_reading(changes: dict[str, object], message: str) -> None:
    with pytest.raises(RnamsmError) as error:
        SsSummary.from_json(_document(**changes), "ss.json")
    assert str(error.value).startswith(message)


def test_ss_json_that_is_no_json_object_is_one_line(tmp_path) -> None:
    (tmp_path / "ss.json").write_text("[1, 2]\n")
    with pytest.raises(RnamsmError, match=r"ss.json: expected a JSON object, found list"):
        ss_summary.read(tmp_path / "ss.json")
    (tmp_path / "ss.json").write_text("{")
    with pytest.raises(RnamsmError, match=r"ss.json: not valid JSON"):
        ss_summary.read(tmp_path / "ss.json")


def test_probability_matrix_is_float32_npy_and_checked_against_the_query(tmp_path) -> None:
    matrix = np.loadtxt(RNAMSM_EXAMPLE / "2DRB_1.prob")  # (35, 35) float64, the official output
    (tmp_path / "q.prob.npy").write_bytes(prob_npy_bytes(matrix))
    assert np.load(tmp_path / "q.prob.npy").dtype == np.float32
    assert np.array_equal(read_prob_npy(tmp_path / "q.prob.npy", 35), matrix.astype(np.float32))
    with pytest.raises(RnamsmError, match=r"q.prob.npy: shape \(35, 35\) does not match the query length 34"):
        read_prob_npy(tmp_path / "q.prob.npy", 34)


# --- RSA tables ------------------------------------------------------------------------------------


def test_rsa_table_writes_the_official_columns_and_reads_back(tmp_path) -> None:
    table = RsaChain("q", "GA", np.array([0.625, 0.1], np.float32), np.array([250.02, 40.0], np.float32),
                     ("q: RNA-MSM", "WARNING: weights_untrained: true"))
    rsa_table.write(table, tmp_path / "q.rsa.tsv")
    text = (tmp_path / "q.rsa.tsv").read_text()
    assert text == ("# q: RNA-MSM\n# WARNING: weights_untrained: true\nindex\tnt\tASA\tRSA\n"
                    "1\tG\t250.02\t0.625\n2\tA\t40.00\t0.100\n")
    back = rsa_table.read(tmp_path / "q.rsa.tsv")
    assert (back.name, back.sequence, back.comments, back.untrained) == ("q", "GA", table.comments, True)
    assert back.rsa.tolist() == [0.625, 0.1] and back.asa.tolist() == [250.02, 40.0]


def test_rsa_table_reads_the_official_output_and_tables_without_asa(tmp_path) -> None:
    official = rsa_table.read(RNAMSM_EXAMPLE / "2DRB_1_ensemble.txt")
    assert official.name == "2DRB_1_ensemble" and len(official.sequence) == 35 and not official.untrained
    assert official.comments == ("2DRB_1 predict by model_pcc_2_21=0.503.pt",)
    (tmp_path / "ref.tsv").write_text("index nt RSA\n1 g -999\n2 T 0.5\n")
    reference = rsa_table.read(tmp_path / "ref.tsv", name="ref")
    assert (reference.sequence, reference.rsa.tolist(), reference.asa) == ("GU", [-999.0, 0.5], None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("index\tnt\tASA\n1\tG\t3\n", "line 1: header must name index, nt and RSA"),
        ("1\tG\t250\t0.6\nindex\tnt\tASA\tRSA\n", "line 2: column header after the first row"),
        ("1\tG\tnan\t0.6\n", "line 1: ASA and RSA must be finite numbers"),
        ("1\tG\t250\n", "line 1: expected 'index nt ASA RSA', got '1\\tG\\t250'"),
        ("# only a comment\n", "no residues"),
    ],
)
def test_rsa_table_problems_are_one_line(tmp_path, text: str, message: str) -> None:
    (tmp_path / "x.rsa.tsv").write_text(text)
    with pytest.raises(RnamsmError) as error:
        rsa_table.read(tmp_path / "x.rsa.tsv")
    assert str(error.value) == f"{tmp_path / 'x.rsa.tsv'}: {message}"


# --- dot-bracket rules shared with the search and the report ---------------------------------------


def test_first_level_of_a_dot_bracket_is_checked_whole() -> None:
    assert first_level_dbn("((..[[..))..]]Aa", "x") == "((......))......"
    assert first_level_dbn("<<_>>,,::~~--", "x") == "............."
    with pytest.raises(RnamsmError, match=r"^x: unbalanced '\[' at position 5$"):
        first_level_dbn("((..[..))", "x")


def test_a_user_structure_for_the_search_names_the_file(tmp_path) -> None:
    path = tmp_path / "q.dbn"
    path.write_text(">q\nGGGAAACCC\n((.[..)).\n")  # the lone '[' was dropped without a word before
    with pytest.raises(RnamsmError, match=rf"^{path}: invalid structure: unbalanced '\[' at position 4$"):
        read_search_structure(path, 9)
    path.write_text(">q\nGGGAAACCC\n(([...]))\n")
    assert read_search_structure(path, 9) == "((.....))"


def test_nested_part_is_the_first_dot_bracket_level() -> None:
    # A short hairpin crossing a longer stem: the nested part keeps the stem (two pairs), not the hairpin.
    pairs = {(1, 4), (2, 10), (3, 9)}
    assert pairs_to_dbn(pairs, 10) == "[((]....))"
    assert nested_dbn(pairs, 10) == ".((.....))"
    assert nested_dbn(pairs, 10) == first_level_dbn(pairs_to_dbn(pairs, 10), "x")
    with pytest.raises(RnamsmError, match="more than one pair"):
        nested_dbn({(1, 5), (1, 6)}, 6)
