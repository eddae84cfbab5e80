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
    input:
        msa=SAMPLE.msa.a2m_msa2,
        query=SAMPLE.query,
        checkpoint=checkpoint_input,
    output:
        SAMPLE.features,
    params:
        checkpoint=checkpoint_argument,
        cfg=cfg_json("model"),
        stage=STAGE_VERSIONS["run_model"],
    log:
        log_file("run_model"),
    benchmark:
        benchmark_file("run_model")
    conda:
        "../../envs/model.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=lambda wildcards, input, attempt: scaled(3000, 50 * input_mb(input), 64000, attempt),
        runtime=lambda wildcards, input, attempt: scaled(20, 10 * input_mb(input), 12 * 60, attempt),
    shell:
        "python -m rnamsm features {input.msa:q} --query {input.query:q} --out {output:q}"
        " --config-json {params.cfg:q} --checkpoint {params.checkpoint:q} > {log:q} 2>&1"
