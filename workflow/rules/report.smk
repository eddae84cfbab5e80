rule sample_report:
    input:
        sample_outputs,
    output:
        report(
            "results/{sample}/report.html",
            caption="../report/sample_report.rst",
            category="Samples",
            labels={"sample": "{sample}"},
        ),
    params:
        cfg=cfg_json("report"),
        description=sample_description,
        stage=STAGE_VERSIONS["report"],
    log:
        "logs/sample_report/{sample}.log",
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    shell:
        "python -m rnamsm report results/{wildcards.sample} --out {output:q} --config-json {params.cfg:q}"
        " --description={params.description:q} > {log:q} 2>&1"


rule batch_index:
    input:
        reports=expand("results/{sample}/report.html", sample=SAMPLES.index),
        samples=config["samples"],
    output:
        report("results/index.html", caption="../report/batch_index.rst", category="Batch"),
    params:
        cfg=cfg_json("report"),
        stage=STAGE_VERSIONS["report"],
    log:
        "logs/batch_index/batch_index.log",
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "python -m rnamsm index results --samples {input.samples:q} --out {output:q} --config-json {params.cfg:q}"
        " > {log:q} 2>&1"
