rule family_chunk:
    # A chunk of a family's members (`msa: alignment`) end to end in one process, family_members_per_job
    # per job (`rnamsm run-members`: query, MSA re-anchored on the member, RNA-MSM and the heads loaded once,
    # baselines, member report). Its declared output is the chunk's status file: a member that fails is
    # recorded there with its reason and the others' files are kept.
    wildcard_constraints:
        chunk="[0-9][0-9][0-9][0-9]+",
    input:
        alignment=planned(lambda wildcards: FAMILIES.at[wildcards.family, "alignment"]),
        checkpoint=checkpoint_input,
        head=ss_head_input,
        heads=rsa_head_inputs,
        stats=rsa_stats_inputs,
    output:
        FAMILY.chunk_status("{chunk}"),
    params:
        results=RESULTS,
        members=family_members_spec,
        per_job=config["family_members_per_job"],
        content=family_alignment_sha256,
        description=family_description,
        checkpoint=checkpoint_argument,
        cfg=sections_json("input", "search", "model", "heads", "baselines", "report"),
        stats=planned(lambda wildcards, input: f"--stats {' '.join(map(shlex.quote, input.stats))}"
                      if input.stats else ""),
        stage=[STAGE_VERSIONS[stage] for stage in ("validate_input", "import_msa", "run_model", "predict_ss",
                                                   "predict_rsa", "baselines", "report")],
    log:
        log_file("family_chunk", "{family}.{chunk}"),
    benchmark:
        benchmark_file("family_chunk", "{family}.{chunk}")
    conda:
        "../../envs/family.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=planned(lambda wildcards, input, attempt: scaled(3000, 50 * input_mb([input.alignment]), 64000,
                                                                attempt)),
        runtime=planned(lambda wildcards, input, attempt: scaled(
            20, config["family_members_per_job"] * (2 + 10 * input_mb([input.alignment])), 24 * 60, attempt
        )),
    shell:
        "python -m rnamsm run-members {input.alignment:q} --family-id {wildcards.family:q}"
        " --members={params.members:q} --members-per-job {params.per_job} --chunk {wildcards.chunk}"
        " --results {params.results:q} --head {input.head:q} --heads {input.heads:q} {params.stats}"
        " --checkpoint {params.checkpoint:q} --head-device cpu --description={params.description:q}"
        " --config-json {params.cfg:q} > {log:q} 2>&1"
