"""``features.npz`` through its one reader and writer on a real ``rnamsm features`` file."""

from __future__ import annotations

import dataclasses
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from rnamsm.errors import RnamsmError
from rnamsm.formats import features as features_file
from rnamsm.model import ModelSettings, run_features
from tests.conftest import RNAMSM_EXAMPLE, RNAMSM_OUTPUTS

#: Written by ``rnamsm features`` before the format had its own module (see the folder's README).
REFERENCE = RNAMSM_OUTPUTS / "2DRB_1.features.npz"
QUERY_2DRB = "GGCCCGGGGCGGUUCGAUUCCGCCCUGGGCCACCA"


def test_read_gives_every_array_and_typed_provenance() -> None:
    record = features_file.read(REFERENCE)
    assert record.sequence == QUERY_2DRB
    assert record.embedding.shape == (35, 64) and record.embedding.dtype == np.float32
    assert record.attention_maps.shape == (8, 35, 35) and record.contacts.shape == (35, 35)
    assert record.attention_coverage.dtype == bool and record.attention_coverage.all()
    assert record.windows == ((0, 35),)
    provenance = record.provenance
    assert provenance.msa_depth == 512 and provenance.msa_input_depth == 1176
    assert provenance.depth_reduction == "identity-filter" and provenance.depth_filter_survivors == 285
    assert provenance.weights_untrained is True and provenance.checkpoint_format == "hf-folder"
    assert (provenance.num_layers, provenance.num_heads) == (2, 4)
    assert (provenance.device, provenance.precision, provenance.threads) == ("cpu", "fp32", 2)
    assert len(provenance.checkpoint_sha256) == 64 and len(provenance.msa_sha256) == 64
    with np.load(REFERENCE) as data:  # every scalar in the file is a field, and nothing else is
        scalars = {key for key in data.files if data[key].ndim == 0} - {"sequence"}
    # every field but device_fallback, which is written only for a sample that had to leave the GPU
    assert scalars == {field.name for field in dataclasses.fields(features_file.Provenance)} - {"device_fallback"}


def test_write_gives_the_bytes_rnamsm_features_wrote(tmp_path) -> None:
    out = tmp_path / "again" / "features.npz"
    features_file.write(features_file.read(REFERENCE), out)
    assert out.read_bytes() == REFERENCE.read_bytes()
    assert [path.name for path in out.parent.iterdir()] == ["features.npz"]  # atomic: no temporary left


def test_run_features_writes_the_reference_record(tmp_path) -> None:
    """The library call behind ``rnamsm features`` assembles the same arrays and provenance as before."""
    from rnamsm.model.export import make_demo_checkpoint

    checkpoint = make_demo_checkpoint(tmp_path / "ckpt", seed=0)
    settings = ModelSettings(checkpoint=str(checkpoint), device="cpu", depth_method="identity")
    lines: list[str] = []
    out = tmp_path / "features.npz"
    record = run_features(RNAMSM_EXAMPLE / "2DRB_1.a2m_msa2", out, settings, log=lines.append)
    reference = features_file.read(REFERENCE)
    assert record.provenance.threads == torch.get_num_threads()  # the reference was written with 2 threads
    assert record.provenance == dataclasses.replace(reference.provenance, threads=record.provenance.threads)
    assert record.windows == reference.windows
    for name in ("embedding", "attention_maps", "contacts"):
        assert np.allclose(getattr(record, name), getattr(reference, name), atol=1e-6), name
    assert features_file.read(out).provenance == record.provenance
    assert any("kept 512 with identity-filter" in line for line in lines) and lines[-1].startswith(f"wrote {out}")


def test_read_info_reads_no_array_data(tmp_path) -> None:
    """Damage inside the attention maps stops ``read`` but not ``read_info``, which reads their header only."""
    damaged = tmp_path / "features.npz"
    shutil.copy(REFERENCE, damaged)
    with zipfile.ZipFile(damaged) as archive:
        member = archive.getinfo("attention_maps.npy")
    blob = bytearray(damaged.read_bytes())
    start = member.header_offset + 30 + len(member.filename.encode()) + len(member.extra) + 1000
    blob[start:start + 64] = bytes(64)
    damaged.write_bytes(bytes(blob))
    with pytest.raises(RnamsmError, match="cannot read a features.npz file .*Bad CRC-32"):
        features_file.read(damaged)
    info = features_file.read_info(damaged, require=("device", "weights_untrained"))
    reference = features_file.read(REFERENCE)
    assert info.provenance == reference.provenance and info.sequence == QUERY_2DRB
    assert info.embedding_shape == (35, 64) and info.attention_maps_shape == (8, 35, 35)
    assert info.coverage_fraction == 1.0


def _minimal(path: Path, **changes: np.ndarray) -> Path:
    """A hand-made features file: the sequence, the embedding and the maps, plus ``changes`` (``None``: left out)."""
    rng = np.random.default_rng(0)
    arrays = {"sequence": np.array("GGGAAACUUCCC"), "embedding": rng.normal(size=(12, 16)).astype(np.float32),
              "attention_maps": rng.random((8, 12, 12)).astype(np.float32), **changes}
    np.savez(path, **{key: value for key, value in arrays.items() if value is not None})
    return path


def test_files_without_provenance_read_with_fields_unset(tmp_path) -> None:
    record = features_file.read(_minimal(tmp_path / "f.npz"))
    assert record.provenance == features_file.Provenance()
    assert record.contacts is None and record.attention_coverage is None and record.windows is None
    info = features_file.read_info(tmp_path / "f.npz")
    assert info.coverage_fraction is None and info.attention_maps_shape == (8, 12, 12)
    with pytest.raises(RnamsmError, match=r"f\.npz: missing field\(s\) device, num_heads$"):
        features_file.read_info(tmp_path / "f.npz", require=("device", "num_heads"))


BAD_FILES = {
    "no_sequence": ({"sequence": None}, "features lack sequence"),
    "empty_maps": ({"attention_maps": np.zeros((0, 12, 12), np.float32)}, "attention_maps (0, 12, 12) is empty"),
    "string_depth": ({"msa_depth": np.array("512")}, "msa_depth must be one integer, found <U3"),
    "bool_layers": ({"num_layers": np.array(True)}, "num_layers must be one integer, found bool"),
    "number_device": ({"device": np.array(0)}, "device must be one string, found int64"),
    "coverage_shape": ({"attention_coverage": np.ones((12, 11), bool)},
                       "attention_coverage must be a true/false array of shape (12, 12), found bool of shape (12, 11)"),
    "contacts_nan": ({"contacts": np.full((12, 12), np.nan, np.float32)}, "contacts holds NaN or infinite values"),
    "windows_shape": ({"windows": np.zeros((1, 3), np.int64)}, "windows must be integer (start, stop) pairs"),
    "maps_shape_in_header": ({"attention_maps": np.zeros((8, 12, 11), np.float32)},
                             "attention_maps has shape (8, 12, 11), expected (M, 12, 12)"),
}


@pytest.mark.parametrize(("case", "expected"), BAD_FILES.values(), ids=BAD_FILES)
def test_bad_files_are_one_line_naming_the_file(tmp_path, case, expected) -> None:
    path = _minimal(tmp_path / "f.npz", **case)
    readers = [features_file.read]
    if not {"contacts", "windows"} & case.keys():  # read_info leaves those two arrays alone
        readers.append(features_file.read_info)
    for reader in readers:
        with pytest.raises(RnamsmError) as error:
            reader(path)
        assert str(error.value).startswith(f"{path}: ") and expected in str(error.value), reader
        assert "\n" not in str(error.value)


def test_a_file_without_maps_or_embedding_reads_and_says_what_is_missing(tmp_path) -> None:
    """``model.keep`` leaves arrays out: the readers give ``None`` for them, and ``needed`` names the use."""
    record = features_file.read(REFERENCE)
    kept = dataclasses.replace(record, attention_maps=None)
    features_file.write(kept, tmp_path / "no_maps.npz")
    with np.load(tmp_path / "no_maps.npz") as data:
        assert "attention_maps" not in data.files and "embedding" in data.files and "contacts" in data.files
    again = features_file.read(tmp_path / "no_maps.npz")
    assert again.attention_maps is None and np.array_equal(again.embedding, record.embedding)
    info = features_file.read_info(tmp_path / "no_maps.npz")
    assert info.attention_maps_shape is None and info.embedding_shape == (35, 64)
    with pytest.raises(RnamsmError, match=r"^x\.npz: the features hold no attention_maps, which the SS head needs "
                       r"\(keep it: model\.keep, rnamsm features --keep attention_maps; or run the heads with"):
        features_file.needed(again.attention_maps, "attention_maps", "x.npz", "the SS head")
    features_file.write(dataclasses.replace(record, embedding=None), tmp_path / "no_embedding.npz")
    assert features_file.read(tmp_path / "no_embedding.npz").embedding is None
    assert features_file.read_info(tmp_path / "no_embedding.npz").embedding_shape is None


def test_float16_maps_read_back_as_float32_within_the_documented_error(tmp_path) -> None:
    """float16 storage of real maps (2DRB_1): half the bytes, an absolute error below 2.5e-4 (docs/model.md)."""
    record = features_file.read(REFERENCE)
    features_file.write(record, tmp_path / "f32.npz")
    features_file.write(record, tmp_path / "f16.npz", maps_dtype="float16")
    with np.load(tmp_path / "f16.npz") as data:
        assert data["attention_maps"].dtype == np.float16
    maps = features_file.read(tmp_path / "f16.npz").attention_maps
    assert maps.dtype == np.float32
    error = np.abs(maps - record.attention_maps)
    assert 0 < error.max() < 2.5e-4
    assert (error <= np.abs(record.attention_maps) * 2.0**-11 + 2.0**-25).all()  # float16 rounding, to nearest
    saved = (tmp_path / "f32.npz").stat().st_size - (tmp_path / "f16.npz").stat().st_size
    assert saved == record.attention_maps.size * 2
