# MLflow tracking: separate local jobs, so that a tracking outage never deletes computed results
# (Snakemake removes the outputs of a failed job); rerunning completes the tracking.


rule track_init:
    """Create the tracking store, the experiment and the sweep's parent run before the fan-out."""
    input:
        config=parent_config,
    output:
        layout.sweep_tracking_file(R, "{settings}"),
    log:
        layout.log_file(R, "tracking/sweep-{settings}"),
    conda:
        "../../environment.yml"
    shell:
        "bdnn track init --no-default-config --config {input.config} --out {output} > {log} 2>&1"


rule track_develop:
    """Log one develop run to MLflow, nested under the sweep's parent run."""
    input:
        **develop_files("{settings}", "{classes}", "{samples}", "{seed}"),
        config=tracking_config,
        sweep=sweep_record,
    output:
        layout.tracking_file(R, DEVELOP_JOB),
    log:
        layout.log_file(R, f"tracking/{DEVELOP_JOB}"),
    conda:
        "../../environment.yml"
    params:
        result=lambda w, input: os.path.dirname(input.curve),
    shell:
        "bdnn track develop --no-default-config --config {input.config} --result {params.result}"
        " --sweep {input.sweep} --out {output} > {log} 2>&1"


rule track_transfer:
    """Log one transfer run to MLflow, nested under the sweep's parent run."""
    input:
        **transfer_files("{experiment}", "{settings}", "{network}", "{seed}"),
        config=tracking_config,
        sweep=sweep_record,
    output:
        layout.tracking_file(R, TRANSFER_JOB),
    log:
        layout.log_file(R, f"tracking/{TRANSFER_JOB}"),
    conda:
        "../../environment.yml"
    params:
        result=lambda w, input: os.path.dirname(input.table),
    shell:
        "bdnn track transfer --no-default-config --config {input.config} --result {params.result}"
        " --sweep {input.sweep} --out {output} > {log} 2>&1"


rule track_sweep:
    """Put the results on the sweep's parent run: claims.md as its description, the claims'
    statistics as metrics, the tables and figures as artifacts (updated when they change)."""
    input:
        config=ancient(EFFECTIVE),
        sweep=SWEEP_RECORD,
        claims=rules.claims.output.text,
        claims_data=rules.claims.output.data,
        files=[*TABLES.values(), *rules.figures.output],
    output:
        layout.sweep_results_file(R, TRANSFER),
    log:
        layout.log_file(R, "tracking/sweep-results"),
    conda:
        "../../environment.yml"
    shell:
        "bdnn track sweep --no-default-config --config {input.config} --sweep {input.sweep} --claims {input.claims}"
        " --claims-data {input.claims_data} --files {input.files} {input.claims} {input.claims_data} --out {output} > {log} 2>&1"
