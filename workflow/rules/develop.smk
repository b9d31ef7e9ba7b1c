DEVELOP_JOB = layout.develop_job("{settings}", "{classes}", "{samples}", "{seed}")
DEVELOP_BATCH = layout.develop_batch("{settings}", "{classes}", "{samples}")
TRANSFER_BATCH = layout.transfer_batch("{settings}", "{network}", "{experiment}")


rule develop:
    """One BDNN-sp developmental run (Algorithm 1) per class subset, sample count and seed."""
    input:
        config=develop_config,
        cache=develop_cache,
    output:
        **develop_files("{settings}", "{classes}", "{samples}", "{seed}"),
    log:
        layout.log_file(R, DEVELOP_JOB),
    benchmark:
        layout.benchmark_file(R, DEVELOP_JOB)
    priority: develop_priority
    conda:
        "../../environment.yml"
    threads: 1
    params:
        out=lambda w, output: os.path.dirname(output.curve),
    shell:
        "bdnn develop --no-default-config --config {input.config} --cache {input.cache} --settings {wildcards.settings}"
        " --classes {wildcards.classes} --samples {wildcards.samples} --seed {wildcards.seed}"
        " --threads {threads} --out {params.out} > {log} 2>&1"


rule transfer:
    """The transfer experiment of one seed: the developed network and its controls, each trained on
    unseen samples (the two un-pruned controls from one training of the full network)."""
    input:
        config=transfer_config_of("transfer"),
        cache=config["cache"],
        model=lambda w: developed_files(w)["model"],
        summary=lambda w: developed_files(w)["summary"],
    output:
        **seed_transfer_files("transfer", layout.NETWORKS),
    log:
        layout.log_file(R, layout.transfer_seed_job("{settings}", "{seed}")),
    benchmark:
        layout.benchmark_file(R, layout.transfer_seed_job("{settings}", "{seed}"))
    priority: TRANSFER_PRIORITY["transfer"]
    conda:
        "../../environment.yml"
    threads: 1
    params:
        networks=" ".join(layout.NETWORKS),
        out=lambda w: transfer_out(w, "transfer"),
        task="",
    shell:
        "bdnn transfer {params.task} --no-default-config --config {input.config} --cache {input.cache} --settings {wildcards.settings}"
        " --network {params.networks} --seed {wildcards.seed} --model {input.model} --develop-summary {input.summary}"
        " --threads {threads} --out '{params.out}' > {log} 2>&1"


use rule transfer as task_transfer with:
    input:
        config=transfer_config_of("task_transfer"),
        cache=config["cache"],
        model=lambda w: developed_files(w)["model"],
        summary=lambda w: developed_files(w)["summary"],
    output:
        **seed_transfer_files("task_transfer", layout.TASK_NETWORKS),
    log:
        layout.log_file(R, layout.transfer_seed_job("{settings}", "{seed}", "task_transfer")),
    benchmark:
        layout.benchmark_file(R, layout.transfer_seed_job("{settings}", "{seed}", "task_transfer"))
    priority: TRANSFER_PRIORITY["task_transfer"]
    params:
        networks=" ".join(layout.TASK_NETWORKS),
        out=lambda w: transfer_out(w, "task_transfer"),
        task="--other-task",
