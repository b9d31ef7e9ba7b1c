DEVELOP_JOB = layout.develop_job("{settings}", "{classes}", "{samples}", "{seed}")
TRANSFER_JOB = layout.transfer_job("{settings}", "{network}", "{seed}", "{experiment}")
DEVELOP_BATCH = layout.develop_batch("{settings}", "{classes}", "{samples}")
TRANSFER_BATCH = layout.transfer_batch("{settings}", "{network}", "{experiment}")


rule develop:
    """One BDNN-sp developmental run (Algorithm 1) per class subset, sample count and seed."""
    input:
        config=develop_config,
        cache=config["cache"],
    output:
        **develop_files("{settings}", "{classes}", "{samples}", "{seed}"),
    log:
        layout.log_file(R, DEVELOP_JOB),
    benchmark:
        layout.benchmark_file(R, DEVELOP_JOB)
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
    """One network of the transfer experiment (the developed one or a control) on unseen samples, or
    of the transfer to another task (experiment task_transfer)."""
    input:
        config=transfer_config,
        cache=config["cache"],
        model=lambda w: developed_files(w)["model"],
        summary=lambda w: developed_files(w)["summary"],
    output:
        **transfer_files("{experiment}", "{settings}", "{network}", "{seed}"),
    log:
        layout.log_file(R, TRANSFER_JOB),
    benchmark:
        layout.benchmark_file(R, TRANSFER_JOB)
    conda:
        "../../environment.yml"
    threads: 1
    params:
        out=lambda w, output: os.path.dirname(output.table),
        task=lambda w: "--other-task" if w.experiment == "task_transfer" else "",
    shell:
        "bdnn transfer {params.task} --no-default-config --config {input.config} --cache {input.cache} --settings {wildcards.settings}"
        " --network {wildcards.network} --seed {wildcards.seed} --model {input.model} --develop-summary {input.summary}"
        " --threads {threads} --out {params.out} > {log} 2>&1"
