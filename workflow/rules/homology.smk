rule homology_search:
    wildcard_constraints:
        sample=SEARCHED_SAMPLES,
    input:
        query="results/{sample}/query.fa",
        databases=sample_databases,
    output:
        a3m="results/{sample}/msa/{sample}.a3m",
        sto="results/{sample}/msa/{sample}.sto",
        a2m_msa2="results/{sample}/msa/{sample}.a2m_msa2",
        stats="results/{sample}/msa/msa_stats.json",
        work=temp(directory("results/{sample}/msa/work")),
    params:
        cfg=cfg_json("search"),
        stage=STAGE_VERSIONS["homology_search"],
    log:
        "logs/homology_search/{sample}.log",
    benchmark:
        "results/benchmarks/homology_search/{sample}.tsv"
    conda:
        "../../envs/homology.yaml"
    threads: 4
    resources:
        mem_mb=lambda wildcards, input, attempt: scaled(2000, 4 * input_mb(input), 64000, attempt),
        runtime=lambda wildcards, input, attempt: scaled(30, input_mb(input), 24 * 60, attempt),
    shell:
        "python -m rnamsm search {input.query:q} --db {input.databases:q} --out-dir results/{wildcards.sample}/msa"
        " --work-dir {output.work:q} --threads {threads} --config-json {params.cfg:q}"
        " > {log:q} 2>&1"


rule import_msa:
    wildcard_constraints:
        sample=IMPORTED_SAMPLES,
    input:
        query="results/{sample}/query.fa",
        alignment=sample_msa,
    output:
        a3m="results/{sample}/msa/{sample}.a3m",
        sto="results/{sample}/msa/{sample}.sto",
        a2m_msa2="results/{sample}/msa/{sample}.a2m_msa2",
        stats="results/{sample}/msa/msa_stats.json",
    params:
        cfg=cfg_json("search"),
        content=sample_msa_sha256,
        stage=STAGE_VERSIONS["import_msa"],
    log:
        "logs/import_msa/{sample}.log",
    conda:
        "../../envs/homology.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, input, attempt: scaled(1000, 4 * input.size_mb, 64000, attempt),
        runtime=lambda wildcards, input, attempt: scaled(10, input.size_mb, 24 * 60, attempt),
    shell:
        "python -m rnamsm import-msa {input.alignment:q} --query {input.query:q}"
        " --out-dir results/{wildcards.sample}/msa --config-json {params.cfg:q}"
        " > {log:q} 2>&1"
