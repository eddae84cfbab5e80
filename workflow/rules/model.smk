rule demo_checkpoint:
    output:
        directory("results/.weights/demo-checkpoint"),
    params:
        seed=0,
    log:
        "logs/demo_checkpoint/demo_checkpoint.log",
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
        msa="results/{sample}/msa/{sample}.a2m_msa2",
        query="results/{sample}/query.fa",
        checkpoint=checkpoint_input,
    output:
        "results/{sample}/features/features.npz",
    params:
        checkpoint=checkpoint_argument,
        cfg=cfg_json("model"),
        stage=STAGE_VERSIONS["run_model"],
    log:
        "logs/run_model/{sample}.log",
    benchmark:
        "results/benchmarks/run_model/{sample}.tsv"
    conda:
        "../../envs/model.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=lambda wildcards, input, attempt: scaled(3000, 50 * input.size_mb, 64000, attempt),
        runtime=lambda wildcards, input, attempt: scaled(20, 10 * input.size_mb, 12 * 60, attempt),
    shell:
        "python -m rnamsm features {input.msa:q} --query {input.query:q} --out {output:q}"
        " --config-json {params.cfg:q} --checkpoint {params.checkpoint:q} > {log:q} 2>&1"
