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
        group_size=model_group_size,
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
        model=cfg_json("model"),
        heads=cfg_json("heads"),
        stats=planned(lambda wildcards, input: f"--stats {' '.join(map(shlex.quote, input.stats))}"
                      if input.stats else ""),
        stage=[STAGE_VERSIONS[stage] for stage in ("run_model", "predict_ss", "predict_rsa")],
    log:
        log_file("run_model"),
    benchmark:
        benchmark_file("run_model")
    conda:
        "../../envs/model.yaml"
    group:
        MODEL_GROUP if SAMPLES_PER_JOB > 1 else None
    threads: 2
    resources:
        gpu=model_gpu,
        gres=model_gres,
        mem_mb=planned(lambda wildcards, input, attempt: scaled(3000, model_memory_mb(input), 64000, attempt)),
        runtime=planned(lambda wildcards, input, attempt: scaled(20, 10 * input_mb([input.msa]), 12 * 60, attempt)),
        # a group's members take turns (one slot per cluster job): its request is the largest member's CPUs
        # and memory and the sum of the members' runtimes
        model_slot=1,
    shell:
        "python -m rnamsm run-samples --results {params.results:q} --sample {wildcards.sample}"
        " --head {input.head:q} --heads {input.heads:q} {params.stats} --checkpoint {params.checkpoint:q}"
        " --model-json {params.model:q} --heads-json {params.heads:q} --head-device cpu > {log:q} 2>&1"
