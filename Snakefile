"""rnamsm: query RNA -> homologs and MSA -> RNA-MSM features -> base pairs and RSA -> QC reports.

Run from the repository root: `snakemake --cores 2` (the embedded demo), or `snakemake --profile
slurm` on a cluster. The configuration is config/config.yaml (documented key by key in
workflow/schemas/config.schema.yaml); the queries are config/samples.tsv.
"""

import os
import sys

from snakemake.utils import min_version

min_version("9.27")

# Rules call `python -m rnamsm`: make the package in this checkout importable, and make `python`
# the interpreter that runs Snakemake (the project venv), also inside cluster jobs.
sys.path.insert(0, workflow.basedir)
os.environ.update(
    {
        "PYTHONPATH": os.pathsep.join(filter(None, [workflow.basedir, os.environ.get("PYTHONPATH")])),
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
    }
)


from rnamsm.errors import RnamsmError
from rnamsm.sheets import CONFIG_FILE, check_config_file

# Snakemake reports any YAML problem (a Python tag too) as "not valid JSON or YAML"; say which and where.
try:
    check_config_file(CONFIG_FILE)
except RnamsmError as error:
    raise WorkflowError(str(error)) from None


configfile: CONFIG_FILE


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/input.smk"
include: "workflow/rules/homology.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/heads.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/families.smk"


localrules:
    all,
    sample_report,
    family_report,
    batch_index,
    demo_checkpoint,
    demo_heads,


rule all:
    input:
        all_outputs(),
    default_target: True


onerror:
    # With --keep-going the other samples finish; the index then lists the failed ones and why.
    remove_unreached_group_outputs()
    write_batch_status(BATCH_STATUS)
    # The chunks' status files that were written come last: their members' reasons win.
    shell(
        "mkdir -p {log_dir:q} && python -m rnamsm index {RESULTS:q} --samples {config[samples]:q}"
        " --families {config[families]:q} {status}"
        " --out {INDEX:q} --config-json {cfg:q} > {index_log:q} 2>&1 || true",
        status=status_args([BATCH_STATUS, *(path for path in all_chunk_statuses() if path.exists())]),
        cfg=cfg_json("report"),
        index_log=log_file("batch_index", "batch_index"),
        log_dir=log_file("batch_index", "batch_index").parent,
    )
