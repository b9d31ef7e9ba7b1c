# MLflow tracking: separate local jobs, so that a tracking outage never deletes computed results
# (Snakemake removes the outputs of a failed job); rerunning completes the tracking.


rule track_init:
    """Create the tracking store, the experiment and the sweep's parent run before the fan-out."""
    output:
        layout.sweep_tracking_file(R, "{settings}"),
    log:
        f"{R}/logs/tracking/sweep-{{settings}}.log",
    params:
        config=job_config,
    conda:
        "../../environment.yml"
    shell:
        "bdnn track init --no-default-config --config {params.config} --out {output} > {log} 2>&1"


rule track_develop:
    """Log one develop run to MLflow, nested under the sweep's parent run."""
    input:
        sweep=sweep_record,
        **develop_files("{settings}", "{classes}", "{samples}", "{seed}"),
    output:
        layout.tracking_file(R, DEVELOP_JOB),
    log:
        layout.log_file(R, f"tracking/{DEVELOP_JOB}"),
    params:
        config=job_config,
        result=lambda w, input: os.path.dirname(input.curve),
    conda:
        "../../environment.yml"
    shell:
        "bdnn track develop --no-default-config --config {params.config} --result {params.result}"
        " --sweep {input.sweep} --out {output} > {log} 2>&1"


rule track_transfer:
    """Log one transfer run to MLflow, nested under the sweep's parent run."""
    input:
        sweep=sweep_record,
        **transfer_files("{settings}", "{seed}"),
    output:
        layout.tracking_file(R, TRANSFER_JOB),
    log:
        layout.log_file(R, f"tracking/{TRANSFER_JOB}"),
    params:
        config=job_config,
        result=lambda w, input: os.path.dirname(input.table),
    conda:
        "../../environment.yml"
    shell:
        "bdnn track transfer --no-default-config --config {params.config} --result {params.result}"
        " --sweep {input.sweep} --out {output} > {log} 2>&1"
