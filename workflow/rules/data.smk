rule data:
    """Build and verify the MNIST cache once (local: compute nodes may have no internet)."""
    input:
        config=ancient(RUNS_CONFIG),
    output:
        config["cache"],
    log:
        layout.log_file(R, "data"),
    conda:
        "../../environment.yml"
    shell:
        "bdnn data --no-default-config --config {input.config} > {log} 2>&1"
