# MLflow tracking: separate local jobs, so that a tracking outage never deletes computed results
# (Snakemake removes the outputs of a failed job); rerunning completes the tracking.


rule track_init:
    """Create the tracking store, the experiment and the sweep's parent run before the fan-out."""
    output:
        f"{R}/tracking/sweep-{SWEEP}.json",
    log:
        f"{R}/logs/tracking/init.log",
    shell:
        "bdnn track init {CFG} --sweep-name sweep-{SWEEP} --out {output} > {log} 2>&1"


rule track_develop:
    input:
        sweep=rules.track_init.output[0],
        **develop_outputs("{classes}", "{samples}", "{seed}"),
    output:
        f"{R}/tracking/develop/{{classes}}/{{samples}}/seed{{seed}}.json",
    log:
        f"{R}/logs/tracking/develop/{{classes}}/{{samples}}/seed{{seed}}.log",
    shell:
        "bdnn track develop {CFG} --result $(dirname {input.curve}) --sweep {input.sweep} --out {output} > {log} 2>&1"


rule track_transfer:
    input:
        sweep=rules.track_init.output[0],
        table=rules.transfer.output.table,
    output:
        f"{R}/tracking/transfer/seed{{seed}}.json",
    log:
        f"{R}/logs/tracking/transfer/seed{{seed}}.log",
    shell:
        "bdnn track transfer {CFG} --result $(dirname {input.table}) --sweep {input.sweep} --out {output} > {log} 2>&1"
