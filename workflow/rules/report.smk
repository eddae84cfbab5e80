rule sample_report:
    input:
        sample_outputs,
    output:
        report(
            SAMPLE.report,
            caption="../report/sample_report.rst",
            category="Samples",
            labels={"sample": "{sample}"},
        ),
    params:
        cfg=cfg_json("report"),
        sample_dir=planned(lambda wildcards: sample_layout(wildcards.sample).directory),
        description=sample_description,
        stage=STAGE_VERSIONS["report"],
    log:
        log_file("sample_report"),
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    shell:
        "python -m rnamsm report {params.sample_dir:q} --out {output:q} --config-json {params.cfg:q}"
        " --description={params.description:q} > {log:q} 2>&1"


rule family_report:
    input:
        unpack(family_inputs),
    output:
        report=FAMILY.report,
        summary=FAMILY.summary,
    params:
        cfg=cfg_json("report"),
        results=RESULTS,
        members=family_members_spec,
        content=family_alignment_sha256,
        description=family_description,
        status=planned(lambda wildcards: status_args(chunk_statuses(wildcards.family))),
        stage=STAGE_VERSIONS["report"],
    log:
        log_file("family_report", "{family}"),
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    shell:
        "python -m rnamsm family-report {input.alignment:q} --family-id {wildcards.family:q}"
        " --members={params.members:q} --results {params.results:q} --config-json {params.cfg:q}"
        " --description={params.description:q} {params.status} > {log:q} 2>&1"


rule batch_index:
    input:
        reports=sample_reports(),
        family_reports=[family_layout(family).report for family in FAMILIES.index],
        chunks=all_chunk_statuses(),
        samples=config["samples"],
        families=config["families"],
    output:
        report(INDEX, caption="../report/batch_index.rst", category="Batch"),
    params:
        results=RESULTS,
        cfg=cfg_json("report"),
        status=planned(lambda wildcards, input: status_args(input.chunks)),
        stage=STAGE_VERSIONS["report"],
    log:
        log_file("batch_index", "batch_index"),
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "python -m rnamsm index {params.results:q} --samples {input.samples:q} --families {input.families:q}"
        " --out {output:q} --config-json {params.cfg:q} {params.status} > {log:q} 2>&1"
