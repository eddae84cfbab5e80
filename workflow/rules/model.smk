rule demo_checkpoint:
    output:
        directory(DEMO_CHECKPOINT),
    params:
        seed=0,
    log:
        log_file("demo_checkpoint", "demo_checkpoint"),
    conda:
        "../../envs/model.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python -m rnamsm make-demo-checkpoint {output:q} --seed {params.seed} > {log:q} 2>&1"


#: `model.samples_per_job` model jobs share one cluster job: a Snakemake job group whose size the workflow
#: sets (`--group-components model=N` on the command line wins). One group asks for one GPU through the
#: `gres` string, which Snakemake does not add up over the members as it does `gpu` (docs/cluster.md).
SAMPLES_PER_JOB = config["model"]["samples_per_job"]
if SAMPLES_PER_JOB > 1 and "model" not in workflow.group_settings.group_components:
    workflow.group_settings.group_components = workflow.group_settings.group_components.set(
        "model", SAMPLES_PER_JOB)


def model_gpu(wildcards):
    """`gpu` of a model job: 1 (local runs: at most `--resources gpu` at once), 0 in a cluster job group."""
    return 1 if SAMPLES_PER_JOB == 1 or workflow.local_exec else 0


def model_gres(wildcards):
    """`gres` of a model job: the group's one GPU (a string: the same for the group, not a sum)."""
    return "" if model_gpu(wildcards) else "gpu:1"


rule run_model:
    # RNA-MSM and both heads in one process (`rnamsm run-samples`): the heads take the attention maps in
    # memory, so features.npz keeps only `model.keep` (default: embedding and contacts).
    input:
        msa=SAMPLE.msa.a2m_msa2,
        query=SAMPLE.query,
        checkpoint=checkpoint_input,
        head=ss_head_input,
        heads=rsa_head_inputs,
        stats=rsa_stats_inputs,
    output:
        features=SAMPLE.features,
        bpseq=SAMPLE.structure.bpseq,
        ct=SAMPLE.structure.ct,
        dbn=SAMPLE.structure.dbn,
        prob=SAMPLE.structure.prob,
        summary=SAMPLE.structure.summary,
        rsa=SAMPLE.rsa,
    params:
        results=RESULTS,
        checkpoint=checkpoint_argument,
        model=cfg_json("model", leave_out=("samples_per_job",)),
        heads=cfg_json("heads"),
        stats=lambda wildcards, input: f"--stats {' '.join(map(shlex.quote, input.stats))}" if input.stats else "",
        stage=[STAGE_VERSIONS[stage] for stage in ("run_model", "predict_ss", "predict_rsa")],
    log:
        log_file("run_model"),
    benchmark:
        benchmark_file("run_model")
    conda:
        "../../envs/model.yaml"
    group:
        "model" if SAMPLES_PER_JOB > 1 else None
    threads: 2
    resources:
        gpu=model_gpu,
        gres=model_gres,
        mem_mb=lambda wildcards, input, attempt: scaled(3000, 50 * input_mb([input.msa]), 64000, attempt),
        # a group's members run one after another, but Snakemake asks for the longest member's time
        runtime=lambda wildcards, input, attempt: scaled(20, 10 * input_mb([input.msa]), 12 * 60, attempt)
        * (1 if model_gpu(wildcards) else SAMPLES_PER_JOB),
    shell:
        "python -m rnamsm run-samples --results {params.results:q} --sample {wildcards.sample}"
        " --head {input.head:q} --heads {input.heads:q} {params.stats} --checkpoint {params.checkpoint:q}"
        " --model-json {params.model:q} --heads-json {params.heads:q} --head-device cpu > {log:q} 2>&1"
