rule data:
    """Build and verify the MNIST cache once (local: compute nodes may have no internet)."""
    output:
        config["cache"],
    log:
        layout.log_file(R, "data"),
    conda:
        "../../environment.yml"
    params:
        config=EFFECTIVE,
    shell:
        "bdnn data --no-default-config --config {params.config} > {log} 2>&1"
