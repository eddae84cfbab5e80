rule validate_input:
    input:
        unpack(query_input),
    output:
        SAMPLE.query,
    params:
        source=query_source_args,
        content=query_alignment_sha256,
        cfg=cfg_json("input"),
        stage=STAGE_VERSIONS["validate_input"],
    log:
        log_file("validate_input"),
    conda:
        "../../envs/homology.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "python -m rnamsm validate-input {params.source} --rename {wildcards.sample:q}"
        " --config-json {params.cfg:q} -o {output:q} > {log:q} 2>&1"
