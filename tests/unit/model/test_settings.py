"""The model stage's settings: schema defaults, ``--config-json`` from the rule, options that override it."""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest
import yaml

from rnamsm.cli import main
from rnamsm.model.settings import ModelSettings
from rnamsm.settings import settings_from_json
from tests.conftest import RNAMSM_EXAMPLE
from tests.support.schema import assert_defaults_match
from tests.support.workflow import copy_workflow, run_command

MSA_2DRB = RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2"  # 1,176 rows


def test_model_settings_defaults_are_the_schema_defaults() -> None:
    assert_defaults_match(ModelSettings, "model")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt") / "demo"
    assert main(["make-demo-checkpoint", str(folder)]) == 0
    return folder


def _depth(path) -> tuple[int, str]:
    with np.load(path) as data:
        return int(data["msa_depth"]), str(data["depth_reduction"])


def test_features_reads_the_config_section_and_options_override_it(tmp_path, checkpoint) -> None:
    section = json.dumps({"checkpoint": str(checkpoint), "device": "cpu", "max_seqs": 100,
                          "depth_method": "identity"})
    out = tmp_path / "f.npz"
    assert main(["features", str(MSA_2DRB), "--out", str(out), "--config-json", section]) == 0
    assert _depth(out) == (100, "identity-filter")
    assert main(["features", str(MSA_2DRB), "--out", str(out), "--config-json", section, "--max-seqs", "40"]) == 0
    assert _depth(out) == (40, "identity-filter")
    assert main(["features", str(MSA_2DRB), "--out", str(out), "--config-json", json.dumps({"max_seqs": 30}),
                 "--checkpoint", str(checkpoint), "--depth-method", "identity"]) == 0
    assert _depth(out) == (30, "identity-filter")


@pytest.mark.parametrize(("section", "message"), [
    ({"max_seq": 100}, "--config-json: unknown key(s) 'max_seq'"),
    ({"precision": "fp64"}, "--config-json.precision: must be one of 'fp32', 'bf16', 'fp16', got 'fp64'"),
    ({"window_overlap": -1}, "--config-json: window_overlap must be at least 0, got -1"),
    ({"hf_eps_parity": "yes"}, "--config-json.hf_eps_parity: expected true or false, got 'yes'"),
    ({"samples_per_job": 0}, "--config-json: samples_per_job must be at least 1, got 0"),
])
def test_bad_config_section_is_one_line(capsys, tmp_path, checkpoint, section, message) -> None:
    out = tmp_path / "f.npz"
    capsys.readouterr()
    assert main(["features", str(MSA_2DRB), "--out", str(out), "--checkpoint", str(checkpoint),
                 "--config-json", json.dumps(section)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"rnamsm features: error: {message}"), lines
    assert not out.exists()


@pytest.mark.workflow
def test_rule_hands_the_model_section_to_features(tmp_path) -> None:
    """The planned model job (``rnamsm run-samples``) carries the config's model section as ``--model-json``."""
    workdir = copy_workflow(tmp_path / "run")
    config_path = workdir / "config" / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["model"].update(max_seqs=77, depth_method="identity", window_overlap=300, hf_eps_parity=True)
    config_path.write_text(yaml.safe_dump(config))
    result = run_command("snakemake -n -p --forceall results/2DRB_1/features/features.npz", workdir)
    assert result.returncode == 0, result.stdout[-3000:]
    command = next(line for line in result.stdout.splitlines() if "rnamsm run-samples" in line)
    words = shlex.split(command)
    settings = settings_from_json(ModelSettings, words[words.index("--model-json") + 1])
    assert settings == ModelSettings(checkpoint="demo", device="auto", precision="fp32", max_seqs=77,
                                     depth_method="identity", window_overlap=300, hf_eps_parity=True)
    assert "--max-seqs" not in words and words[words.index("--checkpoint") + 1] == "results/.weights/demo-checkpoint"
