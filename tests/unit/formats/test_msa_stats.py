"""msa_stats.json (rnamsm.formats.msa_stats): a typed record, the same bytes back, every problem one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnamsm.errors import RnamsmError
from rnamsm.formats import msa_stats
from rnamsm.formats.msa_stats import MsaStats
from tests.conftest import RNAMSM_OUTPUTS

DEMO_STATS = RNAMSM_OUTPUTS / "Cobalamin.msa_stats.json"


def test_demo_stats_read_as_a_record_and_write_back_byte_for_byte(tmp_path: Path) -> None:
    stats = msa_stats.read(DEMO_STATS)
    assert (stats.query_id, stats.query_length, stats.depth) == ("Cobalamin", 103, 10)
    assert len(stats.coverage) == 103 and len(stats.identity_to_query) == 9
    assert [round_.method for round_ in stats.rounds] == ["nhmmer", "cmsearch"]
    assert stats.rounds[-1].depth == stats.depth and isinstance(stats.rounds[0].neff, float)
    assert {hit.strand for hit in stats.hits} <= {"+", "-"} and sum(hit.included for hit in stats.hits) >= 9
    assert stats.databases[0].path == "resources/demo/db/demo_db.fa.gz"
    assert stats.parameters["cm"]["max_rounds"] == 1 and stats.parameters["threads"] == 2
    msa_stats.write(stats, tmp_path / "msa_stats.json")
    assert (tmp_path / "msa_stats.json").read_bytes() == DEMO_STATS.read_bytes()
    assert MsaStats.from_json(stats.to_json(), "again") == stats


def _broken(change) -> str:
    document = json.loads(DEMO_STATS.read_text())
    change(document)
    return json.dumps(document)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("neff"), "missing key(s) neff"),
        (lambda d: d.update(extra=1), "unknown key(s) extra"),
        (lambda d: d.update(neff="high"), "neff: expected a finite number, found \"high\""),
        (lambda d: d.update(depth=True), "depth: expected an integer, found true"),
        (lambda d: d["rounds"][1].update(seconds=None), "rounds[1].seconds: expected a finite number, found null"),
        (lambda d: d["hits"][0].update(strand="x"), "hits[0].strand: must be one of '+', '-', found \"x\""),
        (lambda d: d["hits"][0].pop("evalue"), "hits[0]: missing key(s) evalue"),
        (lambda d: d.update(coverage=d["coverage"][:-1]), "coverage has 102 values, the query 103 positions"),
        (lambda d: d.update(depth=3), "identity_to_query has 9 values for depth 3"),
        (lambda d: d.update(timings=[]), "timings: expected an object, found []"),
        (lambda d: d["timings"].update(total="1s"), "timings.total: expected a finite number"),
    ],
)
def test_bad_document_is_one_error_naming_the_key(change, message: str) -> None:
    with pytest.raises(RnamsmError) as error:
        MsaStats.from_json(_broken(change), "msa_stats.json")
    assert str(error.value).startswith("msa_stats.json: ") and message in str(error.value), str(error.value)
    assert "\n" not in str(error.value)


def test_not_json_or_not_an_object(tmp_path: Path) -> None:
    with pytest.raises(RnamsmError, match="x.json: not valid JSON"):
        MsaStats.from_json("{", "x.json")
    with pytest.raises(RnamsmError, match="x.json: the document: expected an object, found"):
        MsaStats.from_json("[1]", "x.json")
    with pytest.raises(RnamsmError, match="no such file"):
        msa_stats.read(tmp_path / "absent.json")
