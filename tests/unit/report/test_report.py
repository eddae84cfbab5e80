"""Report and index generation without a browser: escaping, byte stability, offline, degradation, QC."""

from __future__ import annotations

import base64
import dataclasses
import html as html_lib
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from rnamsm.cli import main
from rnamsm.errors import RnamsmError
from rnamsm.formats import msa_stats, rsa_table
from rnamsm.formats.query import Query
from rnamsm.formats.structure import dbn_to_pairs
from rnamsm.layout import SampleLayout
from rnamsm.report.batch_index import read_sheet_samples, read_status
from rnamsm.report.pairs import agreements
from rnamsm.report.qc import qc_flags, raised_codes
from rnamsm.report.sample import SampleData
from rnamsm.report.settings import ReportSettings
from tests.conftest import INFERNAL_DATA, RNAMSM_EXAMPLE, RNAMSM_OUTPUTS
from tests.support.report_fixtures import HOSTILE, build_2drb1, build_query_only, read_fasta
from tests.support.schema import assert_defaults_match

EPOCH = "1700000000"
REMOTE = re.compile(r"^\s*(https?:|//)", re.IGNORECASE)
CSS_URL = re.compile(r"url\(\s*['\"]?\s*(https?:|//)", re.IGNORECASE)


class Links(HTMLParser):
    """Every src/href/action attribute value of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.values += [(name, value or "") for name, value in attrs
                        if name in {"src", "href", "action", "xlink:href", "srcset", "poster"}]


def links(html: str) -> list[tuple[str, str]]:
    parser = Links()
    parser.feed(html)
    return parser.values


def report(sample_dir: Path, *extra: str) -> str:
    assert main(["report", str(sample_dir), *extra]) == 0
    return (sample_dir / "report.html").read_text()


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    return build_2drb1(tmp_path / "results", description=HOSTILE, hit_name=HOSTILE)


def test_report_loads_nothing_remote(sample: Path) -> None:
    html = report(sample)
    found = links(html)
    assert found, "the report links its files"
    for name, value in found:
        assert not REMOTE.match(value), (name, value)
        if value.startswith("data:image/svg+xml;base64,"):
            svg = base64.b64decode(value.split(",", 1)[1]).decode()
            for inner_name, inner in links(svg):
                assert not REMOTE.match(inner), (inner_name, inner)
            assert not CSS_URL.search(svg)
    assert not CSS_URL.search(html)
    assert "<link" not in html and "@import" not in html and "@font-face" not in html


def test_report_is_byte_stable_and_dated_by_source_date_epoch(sample: Path) -> None:
    first = report(sample).encode()
    second = report(sample).encode()
    assert first == second
    assert "2023-11-14 22:13:20 UTC" in first.decode()


def test_invalid_source_date_epoch_is_a_one_line_error(sample: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    assert main(["report", str(sample)]) == 1
    assert capsys.readouterr().err.strip() == "rnamsm report: error: SOURCE_DATE_EPOCH: not a Unix time: 'yesterday'"


def test_user_text_is_escaped_and_no_script_can_run(sample: Path) -> None:
    html = report(sample, f"--description={HOSTILE}")
    escaped = HOSTILE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    literal = html.replace("&#34;", '"').replace("&#39;", "'")
    assert f'<td id="query-description">{escaped}</td>' in literal  # the FASTA header
    assert f'<p id="sample-description">{escaped}</p>' in literal  # the sample sheet's description
    assert "<script" not in html.lower()
    assert "</div> \"quoted\"" not in html
    policy = html_lib.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1))
    assert "default-src 'none'" in policy and "script-src 'none'" in policy


def test_report_numbers_match_the_json_inputs(sample: Path) -> None:
    html = report(sample)
    stats = json.loads((sample / "msa" / "msa_stats.json").read_text())
    pairs = json.loads((sample / "structure" / "ss.json").read_text())["pairs"]
    assert f'id="msa-depth">{stats["depth"]}<' in html
    assert f'id="msa-neff">{stats["neff"]:.2f}<' in html
    assert "prepared_database" not in stats and 'id="prepared-database"' not in html  # plain files searched
    assert f'id="pair-count">{len(pairs)}<' in html
    baseline = json.loads((sample / "baselines" / "baselines.json").read_text())
    assert f'id="dbn-rnafold">{baseline["rnafold"]["dbn"]}<' in html
    assert 'id="untrained-banner"' in html


@pytest.mark.parametrize(("alignment", "flagged"), [("cmsearch", False), ("cmalign", False), ("nhmmer", True)])
def test_msa_section_says_how_the_final_msa_was_made_and_flags_an_hmm_only_one(
    sample: Path, alignment: str, flagged: bool
) -> None:
    path = sample / "msa" / "msa_stats.json"
    stats = msa_stats.read(path)
    reason = f"round 1 ({alignment}): a reason with <markup> & \"quotes\""
    msa_stats.write(dataclasses.replace(stats, final_round=1, final_alignment=alignment, final_reason=reason), path)
    html = report(sample)
    line = re.search(r'<p id="msa-final"( class="flag-raised")?>(.*?)</p>', html, re.S)
    assert line and bool(line.group(1)) == flagged
    assert f"Final MSA: round 1, aligned by <code>{alignment}</code>" in line.group(2)
    assert ("an HMM-only alignment" in line.group(2)) == flagged
    assert reason in html_lib.unescape(line.group(2)) and "<markup>" not in line.group(2)  # shown, escaped


def test_agreement_table_counts_shared_and_unique_pairs(sample: Path) -> None:
    html = report(sample)
    msm = {tuple(p) for p in json.loads((sample / "structure" / "ss.json").read_text())["pairs"]}
    baselines = json.loads((sample / "baselines" / "baselines.json").read_text())
    rnafold = dbn_to_pairs(baselines["rnafold"]["dbn"], "rnafold")
    row = (f"<td>RNA-MSM</td><td>RNAfold MFE</td><td class=\"num\">{len(msm & rnafold)}</td>"
           f"<td class=\"num\">{len(msm - rnafold)}</td><td class=\"num\">{len(rnafold - msm)}</td>")
    assert row in html


def test_every_link_resolves_to_a_file_of_the_sample(sample: Path) -> None:
    html = report(sample)
    targets = {value for name, value in links(html) if name == "href" and not value.startswith("#")}
    listed = {p.relative_to(sample).as_posix() for p in sample.rglob("*") if p.is_file() and p.name != "report.html"}
    assert {unquote(t) for t in targets} == listed
    assert all((sample / unquote(t)).is_file() for t in targets)


def test_missing_and_broken_inputs_degrade_to_notes(sample: Path) -> None:
    shutil.rmtree(sample / "structure")
    shutil.rmtree(sample / "features")
    (sample / "rsa" / "2DRB_1.rsa.tsv").unlink()
    (sample / "baselines" / "baselines.json").write_text("{not json")
    html = report(sample)
    assert "not available: structure/ss.json is missing" in html
    assert "not available: rsa/2DRB_1.rsa.tsv is missing" in html
    assert "not available: features/features.npz is missing" in html
    assert "not available: baselines/baselines.json could not be read" in html
    assert 'id="msa-depth">1176<' in html  # the MSA section is unaffected
    assert 'id="untrained-banner"' not in html


def test_empty_sample_folder_still_gives_a_report(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    (tmp_path / "lonely").mkdir()
    html = report(tmp_path / "lonely")
    assert "not available: query.fa is missing" in html
    assert "not available: msa/msa_stats.json is missing" in html


def test_missing_sample_folder_and_bad_config_are_one_line_errors(tmp_path: Path, sample: Path, capsys) -> None:
    assert main(["report", str(tmp_path / "nope")]) == 1
    assert "sample folder does not exist" in capsys.readouterr().err
    assert main(["report", str(sample), "--config-json", '{"report": {"min_neff": "high"}}']) == 1
    assert capsys.readouterr().err.strip() == (
        "rnamsm report: error: --config-json: report.min_neff: expected a finite number, got 'high'")


def test_qc_flags_and_config_thresholds(sample: Path, tmp_path: Path) -> None:
    html = report(sample, "--config-json", json.dumps({"report": {"min_neff": 10}}), "--title", "Batch 7 <b>")
    assert re.search(r'id="flag-shallow_msa">.*?flag-clear', html, re.S)
    assert "<title>Batch 7 &lt;b&gt;</title>" in html
    trna = read_fasta(INFERNAL_DATA / "mrum-tRNA.1.fa")[0][1]
    empty = build_query_only(tmp_path / "results", "short1", trna[:20])
    html = report(empty)
    for code in ("no_hits", "shallow_msa", "short_query"):
        assert re.search(rf'id="flag-{code}">.*?flag-raised', html, re.S), code
    long_query = SampleData(files=SampleLayout(tmp_path, "long"), query=Query("long", "", "ACGU" * 300))
    assert raised_codes(qc_flags(long_query, ReportSettings())) == ["length_windowed"]
    assert raised_codes(qc_flags(long_query, ReportSettings(max_window=2000))) == []


def test_dot_brackets_with_pseudoknots_and_agreement() -> None:
    assert dbn_to_pairs("((..[[..))..]]", "x.dbn") == {(1, 10), (2, 9), (5, 14), (6, 13)}
    with pytest.raises(RnamsmError, match="unbalanced"):
        dbn_to_pairs("((.)", "x.dbn")
    (row,) = agreements({"a": {(1, 10), (2, 9)}, "b": {(1, 10), (3, 8)}})
    assert (row.shared, row.only_first, row.only_second, row.f1) == (1, 1, 1, 0.5)


def test_rsa_reader_follows_the_column_header(tmp_path: Path) -> None:
    official = rsa_table.read(RNAMSM_EXAMPLE / "2DRB_1_ensemble.txt")
    assert (official.sequence[:2], official.asa[0], official.rsa[0]) == ("GG", 250.02, 0.625)
    assert not official.untrained
    swapped = tmp_path / "x.rsa.tsv"
    swapped.write_text("# WARNING: weights_untrained: true\n#index\tnt\tRSA\tASA\n1\tG\t0.625\t250.02\n")
    profile = rsa_table.read(swapped)
    assert (profile.rsa.tolist(), profile.asa.tolist(), profile.untrained) == ([0.625], [250.02], True)
    swapped.write_text("index\tnt\tASA\tRSA\n2\tG\t250.02\t0.625\n")
    with pytest.raises(RnamsmError, match="line 2: index 2, expected 1"):
        rsa_table.read(swapped)


def test_index_reads_sheet_and_status_strictly(tmp_path: Path) -> None:
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("# batch 7\nfasta\tsample_id\tdescription\n#q0\tq0.fa\toff\nq.fa\tq1\tfirst #1\nq.fa\tq2\n")
    assert read_sheet_samples(sheet) == {"q1": "first #1", "q2": ""}
    sheet.write_text("sample_id\n../etc\n")
    with pytest.raises(RnamsmError, match=r"line 2: invalid sample id '../etc'"):
        read_sheet_samples(sheet)
    sheet.write_text("family\tquery\nRF1\tq1\n")
    with pytest.raises(RnamsmError, match=r"no 'sample_id' column \(columns: family, query\)"):
        read_sheet_samples(sheet)
    status = tmp_path / "status.tsv"
    status.write_text("q3\tfailed\tboom\n")
    with pytest.raises(RnamsmError, match="'q3' is not in the sample sheet"):
        read_status(status, ["q1", "q2"])
    status.write_text("q1\tfailed\tboom\nq2\tskipped\n")
    assert read_status(status, ["q1", "q2"]) == {"q1": ("failed", "boom"), "q2": ("skipped", "")}


def test_index_links_and_escapes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    results = tmp_path / "results"
    report(build_2drb1(results))
    (results / "q2").mkdir()
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("sample_id\tdescription\n2DRB_1\tminihelix #3 <b>&</b>\nq2\n")
    status = tmp_path / "status.tsv"
    status.write_text("q2\tfailed\t<script>alert(1)</script>\n")
    assert main(["index", str(results), "--samples", str(sheet), "--status", str(status)]) == 0
    html = (results / "index.html").read_text()
    hrefs = [value for name, value in links(html) if name == "href"]
    assert hrefs == ["2DRB_1/report.html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<td class="description">minihelix #3 &lt;b&gt;&amp;&lt;/b&gt;</td>' in html
    assert html.lower().count("<script") == 1  # only the page's own, pinned by the CSP hash
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", html_lib.unescape(html))


def test_report_settings_defaults_are_the_schema_defaults() -> None:
    assert_defaults_match(ReportSettings, "report")


def test_msa_section_says_where_the_msa_came_from(sample: Path) -> None:
    """A searched MSA says so; an imported one shows its file (escaped), SHA-256 and how the query was found."""
    assert '<p id="msa-source">Source: homolog search (<code>rnamsm search</code>).</p>' in report(sample)
    stats_path = sample / "msa" / "msa_stats.json"
    stats = json.loads(stats_path.read_text())
    for placement in ("cmalign", "hmmalign"):
        stats["source"] = {"kind": "user", "path": "own/<b>x</b>.sto", "sha256": "ab" * 32, "record": "2DRB_1",
                           "placement": placement, "rows": 7}
        stats_path.write_text(json.dumps(stats))
        html = report(sample)
        assert ("Source: your alignment <code>own/&lt;b&gt;x&lt;/b&gt;.sto</code> (SHA-256 <code>" + "ab" * 32
                + f"</code>, 7 rows); query row <code>2DRB_1</code>, not in the alignment: placed with {placement}."
                ) in html


def test_report_shows_the_prepared_database_its_z_and_the_time_per_shard(sample: Path) -> None:
    """A real sharded search's msa_stats.json (3 shards, 2 rounds): name, size, manifest SHA-256, Z, shards."""
    sharded = msa_stats.read(RNAMSM_OUTPUTS / "mrum-tRNA-1.sharded.msa_stats.json")
    prepared = sharded.prepared_database
    assert prepared is not None and len(prepared.shards) == 3
    path = sample / "msa" / "msa_stats.json"
    stats = msa_stats.read(path)
    msa_stats.write(dataclasses.replace(stats, prepared_database=prepared, search_space=sharded.search_space), path)
    html = report(sample)
    table = re.search(r'<table id="prepared-database">(.*?)</table>', html, re.S).group(1)
    assert f'<td class="mono">{prepared.name}</td>' in table and prepared.manifest_sha256 in table
    assert f"{prepared.records} records, {prepared.residues} residues" in table
    assert f"{prepared.cmsearch_Z_residues} residues (cmsearch), {prepared.nhmmer_Z_Mb} Mb (nhmmer)" in table
    assert re.search(r'id="shards-searched">3 \(6 round results', table)
    rows = re.findall(r"<tr><td class=\"mono\">(shard-\d+\.fa)</td><td class=\"num\">(\d+)</td>(.*?)</tr>",
                      re.search(r'<table id="shards">(.*?)</table>', html, re.S).group(1))
    assert [(name, int(residues)) for name, residues, _ in rows] == [(s.file, s.residues) for s in prepared.shards]
    for (_, _, cells), shard in zip(rows, prepared.shards, strict=True):
        assert re.findall(r'<td class="num">([\d.]+)</td>', cells) == [f"{seconds:.2f}" for seconds in shard.seconds]
    assert f"Z = {sharded.search_space.cmsearch_Z_residues} residues (cmsearch)" in html
