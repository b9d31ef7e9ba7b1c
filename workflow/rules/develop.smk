DEVELOP_JOB = layout.develop_job("{settings}", "{classes}", "{samples}", "{seed}")
TRANSFER_JOB = layout.transfer_job("{settings}", "{seed}")


rule develop:
    """One BDNN-sp developmental run (Algorithm 1) per class subset, sample count and seed."""
    input:
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
        config=job_config,
        out=lambda w, output: os.path.dirname(output.curve),
    shell:
        "bdnn develop --no-default-config --config {params.config} --settings {wildcards.settings}"
        " --classes {wildcards.classes} --samples {wildcards.samples} --seed {wildcards.seed}"
        " --threads {threads} --out {params.out} > {log} 2>&1"


rule transfer:
    """Pruned (F peak of the develop run) vs un-pruned network on unseen samples."""
    input:
        cache=config["cache"],
        model=lambda w: develop_files(DEVELOP_OF[w.settings], config["transfer"]["classes"], config["transfer"]["samples"], w.seed)["model"],
    output:
        **transfer_files("{settings}", "{seed}"),
    log:
        layout.log_file(R, TRANSFER_JOB),
    benchmark:
        layout.benchmark_file(R, TRANSFER_JOB)
    conda:
        "../../environment.yml"
    threads: 1
    params:
        config=job_config,
        out=lambda w, output: os.path.dirname(output.table),
    shell:
        "bdnn transfer --no-default-config --config {params.config} --settings {wildcards.settings}"
        " --seed {wildcards.seed} --model {input.model} --threads {threads} --out {params.out} > {log} 2>&1"
