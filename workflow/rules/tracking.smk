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
    """Log the develop runs of one class subset and sample count (every seed) to MLflow, nested
    under the sweep's parent run: one job, one start of MLflow, for the batch. A run already
    logged under its key is kept (a rerun after an added seed or a dead job adds no duplicate)."""
    input:
        curves=lambda w: batch_develop_files(w, "curve"),
        summaries=lambda w: batch_develop_files(w, "summary"),
        models=lambda w: batch_develop_files(w, "model"),
        config=tracking_config,
        sweep=sweep_record,
    output:
        layout.tracking_file(R, DEVELOP_BATCH),
    log:
        layout.log_file(R, f"tracking/{DEVELOP_BATCH}"),
    conda:
        "../../environment.yml"
    params:
        results=lambda w, input: [os.path.dirname(f) for f in input.curves],
    shell:
        "bdnn track develop --no-default-config --config {input.config} --result {params.results}"
        " --sweep {input.sweep} --out {output} > {log} 2>&1"


rule track_transfer:
    """Log the transfer runs of one network kind (every seed) to MLflow, nested under the sweep's
    parent run, as one job."""
    input:
        tables=lambda w: batch_transfer_files(w, "table"),
        summaries=lambda w: batch_transfer_files(w, "summary"),
        config=tracking_config,
        sweep=sweep_record,
    output:
        layout.tracking_file(R, TRANSFER_BATCH),
    log:
        layout.log_file(R, f"tracking/{TRANSFER_BATCH}"),
    conda:
        "../../environment.yml"
    params:
        results=lambda w, input: [os.path.dirname(f) for f in input.tables],
    shell:
        "bdnn track transfer --no-default-config --config {input.config} --result {params.results}"
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
