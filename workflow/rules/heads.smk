rule demo_heads:
    input:
        checkpoint=checkpoint_input,
    output:
        ss=f"{DEMO_HEADS}/ss.safetensors",
        rsa=expand(f"{DEMO_HEADS}/rsa_{{index}}.safetensors", index=range(3)),
    params:
        folder=DEMO_HEADS,
        checkpoint=checkpoint_argument,
        seed=0,
    log:
        log_file("demo_heads", "demo_heads"),
    conda:
        "../../envs/model.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python -m rnamsm make-demo-heads {params.folder:q} --like-checkpoint {params.checkpoint:q} --seed {params.seed}"
        " > {log:q} 2>&1"


rule baselines:
    input:
        query=SAMPLE.query,
        msa=SAMPLE.msa.a2m_msa2,
    output:
        rnafold=SAMPLE.baselines.rnafold_dbn,
        bpp=SAMPLE.baselines.rnafold_bpp,
        rnaalifold=SAMPLE.baselines.rnaalifold_dbn,
        summary=SAMPLE.baselines.summary,
    params:
        cfg=cfg_json("baselines"),
        out_dir=planned(lambda wildcards: sample_folder(wildcards, "baselines")),
        stage=STAGE_VERSIONS["baselines"],
    log:
        log_file("baselines"),
    benchmark:
        benchmark_file("baselines")
    conda:
        "../../envs/homology.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "python -m rnamsm baselines {input.query:q} --msa {input.msa:q} --out-dir {params.out_dir:q}"
        " --config-json {params.cfg:q} > {log:q} 2>&1"
