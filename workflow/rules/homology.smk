if config["databases_dir"]:
    # Prepared databases are keyed by content (prepared_name), so the rule has no file inputs: new content is
    # a new folder, prepared once and shared by every sample, batch and results folder that uses it.
    for sample in PER_SAMPLE:
        if sample not in IMPORTED:
            prepared_name(tuple(sample_database_files(sample)))

    rule prepare_db:
        wildcard_constraints:
            database=names_pattern(PREPARED_DATABASES),
        output:
            directory(str(prepared_database(config["databases_dir"], "{database}"))),
        params:
            files=planned(lambda wildcards: PREPARED_DATABASES[wildcards.database]),
            cfg=PREPARE_CFG,
            max_query=config["input"]["max_length"],
        log:
            log_file("prepare_db", "{database}"),
        benchmark:
            benchmark_file("prepare_db", "{database}")
        conda:
            "../../envs/homology.yaml"
        threads: 1
        resources:
            mem_mb=planned(lambda wildcards, attempt: scaled(
                1000, 4 * config["search"]["db"]["shard_nt"] / 2**20, 64000, attempt,
            )),
            runtime=planned(lambda wildcards, attempt: scaled(
                10, sum(_size(path) for path in PREPARED_DATABASES[wildcards.database]) / 2**20 / 20, 24 * 60,
                attempt,
            )),
        shell:
            "python -m rnamsm prepare-db {params.files:q} --out {output:q} --max-query {params.max_query}"
            " --config-json {params.cfg:q} > {log:q} 2>&1"


rule search_round:
    # One job of a round of sharded searches: shard job {job} (or the round's model) of round {round}, for the
    # samples of round-job group {group} (search_groups: up to search.samples_per_job samples, named after the
    # first; its receipts are kept in that sample's folder).
    wildcard_constraints:
        group=names_pattern(SEARCH_GROUPS),
        round=r"[1-9][0-9]*",
        job=r"model|[0-9]+",
    input:
        queries=group_queries,
        databases=group_databases,
        after=round_job_after,
    output:
        temp(str(sample_layout("{group}").msa.round_receipt("{round}", "{job}"))),
    params:
        cfg=cfg_json("search"),
        resume=group_resume_dirs,
        job=round_job_args,
        stage=STAGE_VERSIONS["homology_search"],
    log:
        log_file("search_round", "{group}.round{round}.{job}"),
    benchmark:
        benchmark_file("search_round", "{group}.round{round}.{job}")
    conda:
        "../../envs/homology.yaml"
    threads: 4
    resources:
        mem_mb=search_mem_mb,
        runtime=search_runtime,
    shell:
        "python -m rnamsm search-round {input.queries:q} --db {input.databases:q} --resume-dir {params.resume:q}"
        " --round {wildcards.round} {params.job} --receipt {output:q} --threads {threads}"
        " --config-json {params.cfg:q} > {log:q} 2>&1"


rule homology_search:
    wildcard_constraints:
        sample=SEARCHED_SAMPLES,
    input:
        query=SAMPLE.query,
        databases=sample_databases,
        rounds=final_round_receipts,
    output:
        a3m=SAMPLE.msa.a3m,
        sto=SAMPLE.msa.sto,
        a2m_msa2=SAMPLE.msa.a2m_msa2,
        stats=SAMPLE.msa.stats,
        work=temp(directory(SAMPLE.msa.work)),
    params:
        cfg=cfg_json("search"),
        out_dir=planned(lambda wildcards: sample_folder(wildcards, "msa")),
        resume=search_resume,
        stage=STAGE_VERSIONS["homology_search"],
    log:
        log_file("homology_search"),
    benchmark:
        benchmark_file("homology_search")
    conda:
        "../../envs/homology.yaml"
    threads: 4
    resources:
        mem_mb=search_mem_mb,
        runtime=search_runtime,
    shell:
        "python -m rnamsm search {input.query:q} --db {input.databases:q} --out-dir {params.out_dir:q}"
        " --work-dir {output.work:q} --resume-dir {params.resume:q} --threads {threads} --config-json {params.cfg:q}"
        " > {log:q} 2>&1"


rule import_msa:
    wildcard_constraints:
        sample=IMPORTED_SAMPLES,
    input:
        query=SAMPLE.query,
        alignment=sample_msa,
    output:
        a3m=SAMPLE.msa.a3m,
        sto=SAMPLE.msa.sto,
        a2m_msa2=SAMPLE.msa.a2m_msa2,
        stats=SAMPLE.msa.stats,
    params:
        cfg=cfg_json("search"),
        content=sample_msa_sha256,
        record=import_record_args,
        out_dir=planned(lambda wildcards: sample_folder(wildcards, "msa")),
        stage=STAGE_VERSIONS["import_msa"],
    log:
        log_file("import_msa"),
    conda:
        "../../envs/homology.yaml"
    threads: 1
    resources:
        mem_mb=planned(lambda wildcards, input, attempt: scaled(1000, 4 * input_mb(input), 64000, attempt)),
        runtime=planned(lambda wildcards, input, attempt: scaled(10, input_mb(input), 24 * 60, attempt)),
    shell:
        "python -m rnamsm import-msa {input.alignment:q} --query {input.query:q} {params.record}"
        " --out-dir {params.out_dir:q} --config-json {params.cfg:q}"
        " > {log:q} 2>&1"
