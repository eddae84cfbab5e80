"""The heads section: HeadSettings defaults are the schema's, predict-ss takes it as --config-json, flags win."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnamsm.cli import main
from rnamsm.errors import RnamsmError
from rnamsm.formats import ss_summary
from rnamsm.heads.demo import make_demo_heads
from rnamsm.heads.head_file import load_safetensors_head, save_head
from rnamsm.heads.settings import HeadSettings, head_settings
from tests.support.schema import assert_defaults_match

SEQUENCE = "GGGAAACUUCCCAGCUAAGCU"


def test_head_settings_defaults_are_the_schema_defaults() -> None:
    assert_defaults_match(HeadSettings, "heads")


def test_config_json_then_flags() -> None:
    assert head_settings(None) == HeadSettings()
    section = json.dumps({"ss_head": "demo", "rsa_heads": ["a.safetensors"], "threshold": None, "min_hairpin": 2})
    settings = head_settings(section)
    assert (settings.rsa_heads, settings.threshold, settings.min_hairpin) == (("a.safetensors",), None, 2)
    assert head_settings(section, threshold=0.3, canonical_only=True).threshold == 0.3
    assert head_settings(section, min_hairpin=0).min_hairpin == 0


@pytest.mark.parametrize(
    ("section", "flags", "message"),
    [
        ({"threshold": 2}, {}, "heads: threshold must be a number in [0, 1], got 2.0"),
        ({"threshold": "high"}, {}, "heads.threshold: expected a finite number, got 'high'"),
        ({"tresh": 0.5}, {}, "heads: unknown key(s) 'tresh'"),
        ({"rsa_heads": []}, {}, "heads: rsa_heads: one to 3 head files, got 0"),
        ({}, {"threshold": float("nan")}, "--threshold must be a number in [0, 1], got nan"),
        ({}, {"min_hairpin": -1}, "--min-hairpin must be at least 0, got -1"),
    ],
)
def test_bad_settings_are_one_line_naming_the_key(section: dict, flags: dict, message: str) -> None:
    with pytest.raises(RnamsmError) as error:
        head_settings(json.dumps(section), **flags)
    assert str(error.value).startswith(message)


@pytest.fixture(scope="module")
def trained_like(tmp_path_factory):
    """features.npz (L = 21, 8 maps, D = 16) and an SS head that records threshold 0.3, like a train-head head."""
    root = tmp_path_factory.mktemp("heads")
    rng = np.random.default_rng(1)
    maps = rng.random((8, len(SEQUENCE), len(SEQUENCE))).astype(np.float32)
    np.savez(root / "features.npz", sequence=np.array(SEQUENCE), attention_maps=maps / maps.sum(-1, keepdims=True),
             embedding=rng.normal(size=(len(SEQUENCE), 16)).astype(np.float32), weights_untrained=np.array(True))
    make_demo_heads(root / "demo", num_maps=8, embed_dim=16)
    head = load_safetensors_head(root / "demo" / "ss.safetensors")
    head.metadata["threshold"] = "0.3"
    save_head(root / "ss.safetensors", head)
    return root


def predicted(root, tmp_path, *extra: str) -> ss_summary.SsSummary:
    out = tmp_path / "out"
    argv = ["predict-ss", str(root / "features.npz"), "--head", str(root / "ss.safetensors"), "--out-dir", str(out),
            "--id", "q", "--device", "cpu", *extra]
    assert main(argv) == 0
    return ss_summary.read(out / "ss.json")


def test_predict_ss_takes_the_heads_section_and_flags_win(trained_like, tmp_path) -> None:
    assert predicted(trained_like, tmp_path).threshold == 0.3  # no section: the head's own
    assert predicted(trained_like, tmp_path, "--config-json", '{"threshold": null}').threshold == 0.3
    section = json.dumps({"threshold": 0.7, "canonical_only": True, "min_hairpin": 3})
    summary = predicted(trained_like, tmp_path, "--config-json", section)
    assert (summary.threshold, summary.canonical_only, summary.min_hairpin) == (0.7, True, 3)
    summary = predicted(trained_like, tmp_path, "--config-json", section, "--threshold", "0.2", "--min-hairpin", "0")
    assert (summary.threshold, summary.canonical_only, summary.min_hairpin) == (0.2, True, 0)
    prob = np.load(tmp_path / "out" / "q.prob.npy")
    assert summary.pairs and all(prob[i - 1, j - 1] > 0.2 for i, j in summary.pairs)


def test_predict_ss_bad_section_is_one_line(trained_like, tmp_path, capsys) -> None:
    argv = ["predict-ss", str(trained_like / "features.npz"), "--head", str(trained_like / "ss.safetensors"),
            "--out-dir", str(tmp_path / "out"), "--id", "q", "--config-json", '{"threshold": 1.5}']
    assert main(argv) == 1
    assert capsys.readouterr().err == (
        "rnamsm predict-ss: error: heads: threshold must be a number in [0, 1], got 1.5\n")
    assert not (tmp_path / "out").exists()
