"""Reports in headless Chromium from file:// with the network off (workflow spec section 6)."""

from __future__ import annotations

import base64
import json
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from rnamsm.report.batch_index import read_sheet_samples
from tests.conftest import REPO_ROOT, require_program
from tests.support.report_browser import CONSOLE_ERROR, DevToolsPage, run_cli
from tests.support.report_fixtures import HOSTILE, REPORTED, STATUS, build_results

pytestmark = pytest.mark.system
ARTIFACTS = REPO_ROOT / "tests" / "artifacts" / "report"
SECTIONS = ("query", "qc", "msa", "structure", "rsa", "provenance", "files")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("batch") / "results"
    root.mkdir()
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = "1700000000"
    try:
        build_results(root)
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous
    return root


@pytest.fixture
def page(tmp_path: Path):
    require_program("chromium")
    browser = DevToolsPage(tmp_path / "profile")
    yield browser
    browser.close()


class ElementText(HTMLParser):
    """Text content of elements by id, the title, and all ids of a DOM dump."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.text: dict[str, str] = {}
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element_id = dict(attrs).get("id")
        if element_id:
            self.ids.add(element_id)
            self.text.setdefault(element_id, "")
        if tag not in {"meta", "img", "br", "input", "link"}:
            self.stack.append(element_id or (f"<{tag}>" if tag == "title" else None))

    def handle_endtag(self, tag: str) -> None:
        if tag not in {"meta", "img", "br", "input", "link"} and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        for key in self.stack:
            if key is not None:
                self.text[key] = self.text.get(key, "") + data


def dump_dom(results: Path, name: str, tmp_path: Path) -> tuple[ElementText, str]:
    run = run_cli(tmp_path / "profile", "--dump-dom", (results / name).as_uri())
    parsed = ElementText()
    parsed.feed(run.stdout)
    return parsed, run.stderr


@pytest.mark.parametrize("sample", REPORTED)
def test_report_dom_shows_sections_and_numbers_of_the_json(results: Path, sample: str, tmp_path: Path) -> None:
    require_program("chromium")
    dom, stderr = dump_dom(results, f"{sample}/report.html", tmp_path)
    assert [line for line in stderr.splitlines() if CONSOLE_ERROR.search(line)] == []
    assert set(SECTIONS) <= dom.ids
    stats = json.loads((results / sample / "msa" / "msa_stats.json").read_text())
    assert dom.text["msa-depth"].strip() == str(stats["depth"])
    assert dom.text["msa-neff"].strip() == f"{stats['neff']:.2f}"
    assert dom.text["query-length"].strip() == f"{stats['query_length']} nt"
    structure = results / sample / "structure" / "ss.json"
    if structure.is_file():
        assert dom.text["pair-count"].strip() == str(len(json.loads(structure.read_text())["pairs"]))
        assert "arc" in dom.text["structure"].lower()
    else:
        assert "not available: structure/ss.json is missing" in dom.text["structure"]
        assert "not available: rsa/" in dom.text["rsa"]
    assert ("untrained-banner" in dom.ids) == (sample == "2DRB_1")


def test_hostile_header_and_record_name_are_literal_text(results: Path, page: DevToolsPage) -> None:
    page.open((results / "2DRB_1" / "report.html").as_uri())
    assert page.evaluate("document.title") == "RNA-MSM report: 2DRB_1"
    assert page.evaluate("document.getElementById('pwned') === null")
    assert page.evaluate("document.scripts.length") == 0
    assert page.evaluate("document.getElementById('query-description').textContent") == HOSTILE
    assert page.evaluate("document.getElementById('sample-description').textContent") == HOSTILE
    hit_names = page.evaluate("Array.from(document.querySelectorAll('#hits tbody td:first-child'), e => e.textContent)")
    assert hit_names[0] == HOSTILE
    assert page.errors() == []
    assert page.failed_requests() == []
    assert all(url.startswith(("file:", "data:")) for url in page.requests())


def test_index_sorts_filters_and_links_in_the_browser(results: Path, page: DevToolsPage) -> None:
    index = results / "index.html"
    page.open(index.as_uri())
    order = "Array.from(document.querySelectorAll('#samples tbody tr'), r => r.dataset.sample)"
    visible = "Array.from(document.querySelectorAll('#samples tbody tr:not([hidden])'), r => r.dataset.sample)"
    assert sorted(page.evaluate(order)) == sorted(STATUS)
    statuses = page.evaluate("Object.fromEntries(Array.from(document.querySelectorAll('#samples tbody tr'),"
                             " r => [r.dataset.sample, r.querySelector('.status').textContent]))")
    assert statuses == STATUS

    neff = {s: json.loads((results / s / "msa" / "msa_stats.json").read_text())["neff"] for s in REPORTED}
    page.click("button[data-column='4']")
    rows = page.evaluate(order)
    with_neff = [s for s in rows if s in neff]
    assert [neff[s] for s in with_neff] == sorted(neff.values())
    assert rows[: len(with_neff)] == with_neff  # samples without Neff sort last
    page.click("button[data-column='4']")
    rows = page.evaluate(order)
    assert [neff[s] for s in rows[: len(neff)]] == sorted(neff.values(), reverse=True)
    assert page.evaluate("document.querySelector('button[data-column=\"4\"]').parentElement"
                         ".getAttribute('aria-sort')") == "descending"

    page.click("#filter")
    page.type_text("2drb")
    assert sorted(page.evaluate(visible)) == ["2DRB_1", "2DRB_small"]
    assert page.evaluate("document.getElementById('shown-count').textContent") == "2"
    page.click("#filter")
    page.evaluate("document.getElementById('filter').select()")
    page.type_text("shallow_msa")
    assert sorted(page.evaluate(visible)) == sorted(s for s in REPORTED)
    page.evaluate("document.getElementById('filter').select()")
    page.press("Backspace", "Backspace", 8)
    assert len(page.evaluate(visible)) == len(STATUS)

    page.click("#status-filter")
    page.press("Escape", "Escape", 27)
    options = page.evaluate("Array.from(document.getElementById('status-filter').options, o => o.value)")
    for _ in range(options.index("failed")):
        page.press("ArrowDown", "ArrowDown", 40)
    assert page.evaluate(visible) == ["failed1"]
    assert "out of memory <&>" in page.evaluate("document.querySelector('tr[data-sample=failed1]').textContent")
    assert page.evaluate("document.querySelector('tr[data-sample=\"2DRB_1\"] .description').textContent") == HOSTILE

    page.press("Home", "Home", 36)
    page.click("tr[data-sample='2DRB_small'] a")
    page.wait_for("Page.loadEventFired")
    assert page.evaluate("location.href") == (results / "2DRB_small" / "report.html").as_uri()
    assert page.errors() == []
    assert page.failed_requests() == []
    assert all(url.startswith(("file:", "data:")) for url in page.requests())


def test_screenshots_are_saved_and_not_blank(results: Path, tmp_path: Path) -> None:
    require_program("chromium")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name in [f"{sample}/report.html" for sample in REPORTED] + ["index.html"]:
        target = ARTIFACTS / (name.replace("/", "_").replace(".html", ".png"))
        target.unlink(missing_ok=True)
        run_cli(tmp_path / name.replace("/", "_"), f"--screenshot={target}", (results / name).as_uri())
        pixels = (imread(target)[..., :3].reshape(-1, 3) * 255).astype(np.uint32)
        assert pixels.shape[0] == 1280 * 900
        colours = np.unique(pixels[:, 0] << 16 | pixels[:, 1] << 8 | pixels[:, 2])
        assert len(colours) > 50, f"{target} looks blank"
        assert pixels.std() > 10
    shutil.copytree(results, ARTIFACTS / "results", dirs_exist_ok=True)


def test_every_report_of_the_demo_run_opens_cleanly(demo_run: Path, page: DevToolsPage) -> None:
    """Acceptance: the demo run's reports and index open offline without errors and match its JSON."""
    results = demo_run / "results"
    samples = read_sheet_samples(demo_run / "config" / "samples.tsv")
    pages = [results / "index.html"] + [results / sample / "report.html" for sample in samples]
    assert all(path.is_file() for path in pages), "the demo run must write every report and the index"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for path in pages:
        page.open(path.as_uri())
        shot = base64.b64decode(page.send("Page.captureScreenshot", format="png")["data"])
        (ARTIFACTS / f"demo_{path.parent.name}_{path.stem}.png").write_bytes(shot)
        if path.name == "report.html" and (path.parent / "msa" / "msa_stats.json").is_file():
            stats = json.loads((path.parent / "msa" / "msa_stats.json").read_text())
            assert page.evaluate("document.getElementById('msa-depth').textContent") == str(stats["depth"])
            assert page.evaluate("document.getElementById('msa-neff').textContent") == f"{stats['neff']:.2f}"
    assert page.errors() == []
    assert page.failed_requests() == []
    assert all(url.startswith(("file:", "data:")) for url in page.requests())
