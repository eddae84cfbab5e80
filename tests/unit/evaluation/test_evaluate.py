"""Base-pair and RSA metrics on hand-made cases, checked against hand-computed numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from rnamsm.cli import main
from rnamsm.errors import RnamsmError
from rnamsm.evaluation.rsa_metrics import composition_means, summarise_rsa
from rnamsm.evaluation.structure_metrics import Counts, aggregate, score_sequence, scores, summarise
from rnamsm.formats.rsa_table import RsaChain
from rnamsm.formats.structure import Structure
from tests.conftest import RNAMSM_EXAMPLE


def s(sequence: str, pairs: set[tuple[int, int]], name: str = "x") -> Structure:
    return Structure(name, sequence, set(pairs))


SEQ12 = "GGGAAAAACCCC"


def test_perfect_prediction() -> None:
    ref = s("GGGGAAAACCCC", {(1, 12), (2, 11)})
    result = score_sequence(ref, ref)
    assert result.counts["all"] == Counts(tp=2, fp=0, fn=0, tn=66 - 2)
    assert scores(result.counts["all"]) == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "mcc": 1.0}
    assert result.exact_match["all"]


def test_empty_cases() -> None:
    empty, full = s(SEQ12, set()), s(SEQ12, {(1, 12)})
    assert scores(score_sequence(empty, empty).counts["all"]) == {"precision": 1, "recall": 1, "f1": 1, "mcc": 1}
    zero = {"precision": 0, "recall": 0, "f1": 0, "mcc": 0}
    assert scores(score_sequence(empty, full).counts["all"]) == zero
    assert scores(score_sequence(full, empty).counts["all"]) == zero


def test_shifted_by_one() -> None:
    ref = s(SEQ12, {(1, 10), (2, 9), (3, 8)})
    pred = s(SEQ12, {(2, 10), (3, 9)})
    result = score_sequence(pred, ref)
    # exact: TP 0, FP 2, FN 3, TN 66-5 = 61
    assert result.counts["all"] == Counts(0, 2, 3, 61)
    exact = scores(result.counts["all"])
    assert exact["f1"] == 0 and exact["mcc"] == pytest.approx(-6 / math.sqrt(2 * 3 * 63 * 64))
    # shifted: (2,10)->(1,10), (3,9)->(2,9); TP 2, FP 0, FN 1, TN 63
    assert result.counts["shifted"] == Counts(2, 0, 1, 63)
    shifted = scores(result.counts["shifted"])
    assert shifted["precision"] == 1 and shifted["recall"] == pytest.approx(2 / 3)
    assert shifted["f1"] == pytest.approx(0.8) and shifted["mcc"] == pytest.approx(126 / math.sqrt(2 * 3 * 63 * 64))


def test_shifted_matching_is_one_to_one() -> None:
    ref = s(SEQ12, {(2, 10)})
    pred = s(SEQ12, {(1, 10), (3, 10)})  # both are one shift from the single reference pair
    assert score_sequence(pred, ref).counts["shifted"] == Counts(1, 1, 0, 66 - 2)


def test_pseudoknotted_pairs_count_like_any_other() -> None:
    ref = s("GGGAGGGAACCCAACCCA", {(1, 12), (2, 11), (3, 10), (5, 17), (6, 16), (7, 15)})
    pred = s(ref.sequence, {(1, 12), (2, 11), (3, 10)})  # nested part only
    counts = score_sequence(pred, ref).counts["all"]
    assert counts == Counts(3, 0, 3, 153 - 6)
    assert scores(counts)["f1"] == pytest.approx(6 / 9)
    assert scores(counts)["mcc"] == pytest.approx(3 * 147 / math.sqrt(3 * 6 * 150 * 147))


def test_multiplet_in_reference() -> None:
    ref = s("GAGAAAACUC", {(1, 8), (1, 9), (3, 6)})  # base 1 in two pairs
    pred = s(ref.sequence, {(1, 8), (3, 6)})
    counts = score_sequence(pred, ref).counts["all"]
    assert counts == Counts(2, 0, 1, 42)
    assert scores(counts)["mcc"] == pytest.approx(84 / math.sqrt(2 * 3 * 42 * 43))


def test_masked_residues_are_dropped_and_tn_counts_remaining_positions() -> None:
    ref = s("GGGANAACCC", {(1, 10), (2, 9), (5, 8)})  # N at 5: its pair is not scored
    pred = s("GGGAGAACCC", {(1, 10), (5, 9)})
    counts = score_sequence(pred, ref).counts["all"]
    # 9 scored positions -> 36 possible pairs; P = {(1,10)}, T = {(1,10),(2,9)}
    assert counts == Counts(1, 0, 1, 34)
    with pytest.raises(RnamsmError, match="differ at position 1"):
        score_sequence(s("AGGAGAACCC", set()), ref)
    with pytest.raises(RnamsmError, match="align them"):
        score_sequence(s("GGG", set()), ref)


def test_canonical_variant_restricts_both_sets() -> None:
    ref = s("GCAUAAAUGC", {(1, 10), (2, 9), (3, 8), (4, 7), (5, 6)})  # (5,6) is A-A
    pred = s(ref.sequence, {(1, 10), (5, 6), (3, 7)})  # (3,7) is A-A too
    result = score_sequence(pred, ref)
    assert result.counts["all"] == Counts(2, 1, 3, 45 - 6)
    assert result.counts["canonical"] == Counts(1, 0, 3, 45 - 4)


def test_pooled_versus_per_sequence_aggregation() -> None:
    a = score_sequence(s(SEQ12, {(1, 12)}), s(SEQ12, {(1, 12), (2, 11)}, "a"))  # P 1, R 0.5
    b = score_sequence(s(SEQ12, {(1, 12), (2, 11), (3, 10), (4, 9)}), s(SEQ12, {(1, 12)}, "b"))  # P 0.25, R 1
    summary = aggregate([a, b], "all")
    pooled = summary["pooled"]
    assert (pooled["tp"], pooled["fp"], pooled["fn"]) == (2, 3, 1)
    assert pooled["precision"] == pytest.approx(2 / 5) and pooled["recall"] == pytest.approx(2 / 3)
    assert pooled["f1"] == pytest.approx(4 / 8)
    assert summary["per_sequence_mean"]["precision"] == pytest.approx((1 + 0.25) / 2)
    assert summary["per_sequence_mean"]["f1"] == pytest.approx((2 / 3 + 2 / 5) / 2)
    assert summary["per_sequence_median"]["recall"] == pytest.approx(0.75)
    assert summary["exact_match_rate"] == 0
    full = summarise([a, b])
    assert full["num_sequences"] == 2 and "canonical" in full and "shifted" in full


def test_evaluate_cli_folders_json_and_tsv(tmp_path) -> None:
    pred, ref = tmp_path / "pred", tmp_path / "ref"
    pred.mkdir()
    ref.mkdir()
    (pred / "a.dbn").write_text(">a\nGGGAAAACCC\n(((....)))\n")
    (ref / "a.bpseq").write_text("1 G 10\n2 G 9\n3 G 0\n4 A 0\n5 A 0\n6 A 0\n7 A 0\n8 C 0\n9 C 2\n10 C 1\n")
    (pred / "b.dbn").write_text(">b\nGGAAAACC\n........\n")
    (ref / "b.dbn").write_text(">b\nGGAAAACC\n((....))\n")
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--pred", str(pred), "--ref", str(ref), "--json", str(out)]) == 0
    summary = json.loads(out.read_text())
    assert summary["pooled"]["tp"] == 2 and summary["pooled"]["fp"] == 1 and summary["pooled"]["fn"] == 2
    assert summary["per_sequence_mean"]["f1"] == pytest.approx((0.8 + 0) / 2)
    assert set(summary["canonical"]) >= {"pooled", "per_sequence_mean", "per_sequence_median"}
    rows = (tmp_path / "eval.per_sequence.tsv").read_text().splitlines()
    assert rows[0].split("\t")[:3] == ["id", "length", "precision"] and len(rows) == 3


def test_rsa_metrics_hand_computed() -> None:
    ref = RsaChain("c", "ACGUA", np.array([0.1, 0.2, 0.3, -999.0, 0.5]))
    pred = RsaChain("c", "ACGUA", np.array([0.2, 0.2, 0.4, 0.9, 0.5]))
    summary, results = summarise_rsa([pred], {"c": ref})
    assert results[0].valid == 4
    assert results[0].mae == pytest.approx((0.1 + 0 + 0.1 + 0) / 4)
    assert results[0].pcc == pytest.approx(np.corrcoef([0.2, 0.2, 0.4, 0.5], [0.1, 0.2, 0.3, 0.5])[0, 1])
    flat = RsaChain("d", "ACG", np.array([0.3, 0.3, 0.3]))
    summary, _ = summarise_rsa([pred, flat], {"c": ref, "d": RsaChain("d", "ACG", np.array([0.1, 0.2, 0.4]))})
    assert summary["pcc_excluded_chains"] == 1 and summary["num_chains"] == 2
    assert summary["mae_pooled"] == pytest.approx((0.1 + 0 + 0.1 + 0 + 0.2 + 0.1 + 0.1) / 7)
    assert composition_means([ref])["A"] == pytest.approx(0.3)


def test_evaluate_two_single_files_with_different_names(tmp_path, capsys) -> None:
    """Two files are paired whatever their names: the official 2DRB_1 outputs scored against each other."""
    prediction = tmp_path / "my_prediction.bpseq"
    prediction.write_bytes((RNAMSM_EXAMPLE / "2DRB_1.bpseq").read_bytes())
    assert main(["evaluate", "--pred", str(prediction), "--ref", str(RNAMSM_EXAMPLE / "2DRB_1.bpseq"),
                 "--json", str(tmp_path / "ss.json")]) == 0
    summary = json.loads((tmp_path / "ss.json").read_text())
    assert summary["num_sequences"] == 1 and summary["pooled"]["f1"] == 1.0
    # one model of the official ensemble against the ensemble average
    assert main(["evaluate", "--pred", str(RNAMSM_EXAMPLE / "2DRB_1_0.txt"), "--task", "rsa",
                 "--ref", str(RNAMSM_EXAMPLE / "2DRB_1_ensemble.txt"), "--json", str(tmp_path / "rsa.json")]) == 0
    rsa = json.loads((tmp_path / "rsa.json").read_text())
    assert rsa["num_chains"] == 1 and 0.9 < rsa["pcc_mean"] < 1.0
    capsys.readouterr()


def test_evaluate_pairs_ids_with_dots_and_predictor_tags(tmp_path, capsys) -> None:
    """ArchiveII ids contain dots (16s_A.fulgidus_domain2): an id is the name without the extension; a
    predictor tag (2DRB_1.rnafold) is dropped only when that pairs one prediction with one reference."""
    pred, ref = tmp_path / "pred", tmp_path / "ref"
    pred.mkdir()
    ref.mkdir()
    ids = ["16s_A.fulgidus_domain2", "16s_A.fulgidus_domain4", "2DRB_1"]
    for name in ids:  # the real 2DRB_1 structure under ArchiveII-style names
        (ref / f"{name}.ct").write_bytes((RNAMSM_EXAMPLE / "2DRB_1.ct").read_bytes())
    for name in ids[:2] + ["2DRB_1.rnafold"]:
        (pred / f"{name}.bpseq").write_bytes((RNAMSM_EXAMPLE / "2DRB_1.bpseq").read_bytes())
    out = tmp_path / "eval.json"
    assert main(["evaluate", "--pred", str(pred), "--ref", str(ref), "--json", str(out)]) == 0
    rows = [line.split("\t") for line in (tmp_path / "eval.per_sequence.tsv").read_text().splitlines()]
    assert [row[0] for row in rows[1:]] == ids
    assert json.loads(out.read_text())["pooled"]["f1"] == 1.0
    assert main(["evaluate", "--pred", str(pred / "2DRB_1.rnafold.bpseq"), "--ref", str(ref)]) == 0
    capsys.readouterr()

    (pred / "2DRB_1.rnaalifold.bpseq").write_bytes((RNAMSM_EXAMPLE / "2DRB_1.bpseq").read_bytes())
    (pred / "16s_A.bpseq").write_bytes((RNAMSM_EXAMPLE / "2DRB_1.bpseq").read_bytes())
    assert main(["evaluate", "--pred", str(pred), "--ref", str(ref)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert err[0].startswith(f"rnamsm evaluate: error: {ref}: no reference for 3 predicted file(s): "
                             "16s_A.bpseq, 2DRB_1.rnaalifold.bpseq, 2DRB_1.rnafold.bpseq (")
