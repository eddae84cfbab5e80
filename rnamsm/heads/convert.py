"""Official RNA-MSM head files -> our safetensors head files (``rnamsm convert-heads``)."""

from __future__ import annotations

from pathlib import Path

from rnamsm.atomic import check_output_targets, write_files
from rnamsm.checksums import file_sha256
from rnamsm.errors import RnamsmError
from rnamsm.heads.head_file import Head, head_bytes, head_metadata
from rnamsm.heads.official_formats import load_official_rsa, load_official_ss, statistics_from_pickles
from rnamsm.heads.postprocess import OFFICIAL_THRESHOLD

#: Where the official files sit inside a clone of github.com/yikunpku/RNA-MSM.
OFFICIAL_SS_PATH = Path("_downstream_tasks/SS/model/rna-msm_attention.pt")
OFFICIAL_RSA_DIR = Path("_downstream_tasks/RSA/models/OH+RNA-MSM_Emb")
OFFICIAL_RSA_STATS = ("statistic_dict_oh.pickle", "statistic_dict_emb.pickle")


def convert_heads(
    out_dir: Path, ss: Path | None = None, rsa: list[Path] | None = None, stats: list[Path] | None = None
) -> list[Path]:
    """Convert the given official files; returns the written paths (``ss.safetensors``, ``rsa_K.safetensors``).

    Every input is read and checked before the first output is written, so a bad file leaves no partial set.
    """
    heads: list[tuple[Path, Head]] = []
    if ss is not None:
        model = load_official_ss(ss)
        metadata = head_metadata(False, f"official:{ss.name} sha256={file_sha256(ss)}",
                                 {"threshold": repr(OFFICIAL_THRESHOLD)})
        heads.append((out_dir / "ss.safetensors", Head("ss", model, None, metadata)))
    if rsa:
        if not stats:
            raise RnamsmError("converting RSA heads needs their statistics pickles (--stats)")
        statistics = statistics_from_pickles(stats)
        for index, path in enumerate(sorted(rsa)):
            model = load_official_rsa(path)
            metadata = head_metadata(False, f"official:{path.name} sha256={file_sha256(path)}")
            heads.append((out_dir / f"rsa_{index}.safetensors", Head("rsa", model, statistics, metadata)))
    if not heads:
        raise RnamsmError("nothing to convert: give --repo, --ss or --rsa")
    check_output_targets(*(target for target, _ in heads))
    write_files({target: head_bytes(head, target) for target, head in heads})  # one set: all or none
    return [target for target, _ in heads]


def run_convert_heads(
    out_dir: Path, repo: Path | None = None, ss: Path | None = None, rsa: list[Path] | None = None,
    stats: list[Path] | None = None,
) -> list[Path]:
    """:func:`convert_heads`, taking the files not given from their usual places in a clone ``repo``."""
    if repo is not None:
        if not repo.is_dir():
            raise RnamsmError(f"{repo}: no such folder, expected a clone of yikunpku/RNA-MSM (--repo)")
        ss = ss or (repo / OFFICIAL_SS_PATH if (repo / OFFICIAL_SS_PATH).is_file() else None)
        rsa = rsa or sorted((repo / OFFICIAL_RSA_DIR).glob("model_pcc_*.pt"))
        stats = stats or [repo / OFFICIAL_RSA_DIR / name for name in OFFICIAL_RSA_STATS]
    return convert_heads(out_dir, ss, rsa, stats)
