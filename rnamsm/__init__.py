"""rnamsm: raw RNA sequences to predicted structure with RNA-MSM."""

__version__ = "0.1.0"

#: Implementation version of each workflow stage. Bump a stage's number only when its numerical
#: output changes: the workflow passes it through ``params:`` so exactly that stage reruns.
STAGE_VERSIONS: dict[str, int] = {
    "validate_input": 1,
    "homology_search": 3,
    "import_msa": 3,
    "run_model": 2,
    "report": 1,
    "predict_ss": 1,
    "predict_rsa": 1,
    "baselines": 2,
}
