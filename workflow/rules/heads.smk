rule demo_heads:
    output:
        ss="results/.weights/demo-heads/ss.safetensors",
        rsa=expand("results/.weights/demo-heads/rsa_{index}.safetensors", index=range(3)),
    params:
        dimensions=demo_head_dimensions,
        seed=0,
    log:
        "logs/demo_heads/demo_heads.log",
    conda:
        "../../envs/model.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python -m rnamsm make-demo-heads results/.weights/demo-heads {params.dimensions} --seed {params.seed} > {log:q} 2>&1"


rule predict_ss:
    input:
        features="results/{sample}/features/features.npz",
        head=ss_head_input,
    output:
        bpseq="results/{sample}/structure/{sample}.bpseq",
        ct="results/{sample}/structure/{sample}.ct",
        dbn="results/{sample}/structure/{sample}.dbn",
        prob="results/{sample}/structure/{sample}.prob.npy",
        summary="results/{sample}/structure/ss.json",
    params:
        cfg=cfg_json("heads"),
        stage=STAGE_VERSIONS["predict_ss"],
    log:
        "logs/predict_ss/{sample}.log",
    benchmark:
        "results/benchmarks/predict_ss/{sample}.tsv"
    conda:
        "../../envs/model.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, input, attempt: scaled(2000, 20 * input_mb(input), 32000, attempt),
        runtime=30,
    shell:
        "python -m rnamsm predict-ss {input.features:q} --head {input.head:q} --out-dir results/{wildcards.sample}/structure"
        " --id {wildcards.sample} --config-json {params.cfg:q} --device cpu > {log:q} 2>&1"


rule predict_rsa:
    input:
        features="results/{sample}/features/features.npz",
        heads=rsa_head_inputs,
        stats=rsa_stats_inputs,
    output:
        "results/{sample}/rsa/{sample}.rsa.tsv",
    params:
        stats=lambda wildcards, input: f"--stats {' '.join(map(shlex.quote, input.stats))}" if input.stats else "",
        stage=STAGE_VERSIONS["predict_rsa"],
    log:
        "logs/predict_rsa/{sample}.log",
    benchmark:
        "results/benchmarks/predict_rsa/{sample}.tsv"
    conda:
        "../../envs/model.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "python -m rnamsm predict-rsa {input.features:q} --heads {input.heads:q} {params.stats} --out {output:q}"
        " --id {wildcards.sample} --device cpu > {log:q} 2>&1"


rule baselines:
    input:
        query="results/{sample}/query.fa",
        msa="results/{sample}/msa/{sample}.a2m_msa2",
    output:
        rnafold="results/{sample}/baselines/{sample}.rnafold.dbn",
        bpp="results/{sample}/baselines/{sample}.rnafold_bpp.npy",
        rnaalifold="results/{sample}/baselines/{sample}.rnaalifold.dbn",
        summary="results/{sample}/baselines/baselines.json",
    params:
        max_rows=config["baselines"]["max_rows"],
        stage=STAGE_VERSIONS["baselines"],
    log:
        "logs/baselines/{sample}.log",
    benchmark:
        "results/benchmarks/baselines/{sample}.tsv"
    conda:
        "../../envs/homology.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "python -m rnamsm baselines {input.query:q} --msa {input.msa:q} --out-dir results/{wildcards.sample}/baselines"
        " --max-rows {params.max_rows} > {log:q} 2>&1"
