rule data:
    """Build and verify the MNIST cache once (local: compute nodes may have no internet)."""
    output:
        config["cache"],
    log:
        f"{R}/logs/data.log",
    shell:
        "bdnn data {CFG} > {log} 2>&1"
