rule data:
    """Build and verify the dataset cache once (local: compute nodes may have no internet). It reads
    no config file: only the cache and the folder it is built from (a new config never rebuilds it)."""
    output:
        config["cache"],
    log:
        layout.log_file(R, "data"),
    conda:
        "../../environment.yml"
    params:
        # the source and (where it is not MNIST) the dataset, as flags: the default's stay as they were
        data_dir=(f"--data-dir {config['data_dir']}" if config["data_dir"] else "")
        + (f" --set dataset={config['dataset']}" if config["dataset"] != "mnist" else ""),
    shell:
        "bdnn data --no-default-config --cache {output} {params.data_dir} > {log} 2>&1"
