TABLES = layout.tables(R)


rule aggregate:
    """The results tables: curves.csv, summary.csv, transfer.csv."""
    input:
        curves=sweep_develop_files("curve"),
        summaries=sweep_develop_files("summary"),
        transfer=sweep_transfer_files("transfer", "table"),
        transfer_summaries=sweep_transfer_files("transfer", "summary"),
        task_transfer=sweep_transfer_files("task_transfer", "table"),
        task_transfer_summaries=sweep_transfer_files("task_transfer", "summary"),
    output:
        **TABLES,
    log:
        layout.log_file(R, "aggregate"),
    conda:
        "../../environment.yml"
    params:
        out=lambda w, output: os.path.dirname(output.curves),
    shell:
        "bdnn aggregate --curves {input.curves} --summaries {input.summaries} --transfer {input.transfer}"
        " --transfer-summaries {input.transfer_summaries} --task-transfer {input.task_transfer}"
        " --task-transfer-summaries {input.task_transfer_summaries} --out {params.out} > {log} 2>&1"


rule figures:
    """Fig. 3 and Fig. 4 of the paper, and the transfer controls, from the tables."""
    input:
        **TABLES,
        config=ancient(EFFECTIVE),
    output:
        **{
            name: report(path, caption=f"../report/{name}.rst", category="Figures") if path.endswith(".png") else path
            for name, path in layout.figure_files(FIG).items()
        },
    log:
        layout.log_file(R, "figures"),
    conda:
        "../../environment.yml"
    params:
        out=lambda w, output: os.path.dirname(output.fig3),
    shell:
        "bdnn figures --no-default-config --config {input.config} --curves {input.curves} --summary {input.summary} --transfer {input.transfer}"
        " --transfer-summary {input.transfer_summary} --task-transfer {input.task_transfer}"
        " --task-transfer-summary {input.task_transfer_summary} --out {params.out} > {log} 2>&1"


rule claims:
    """The paper's four claims with the measured evidence and a verdict under each S/E reading."""
    input:
        config=ancient(EFFECTIVE),
        curves=TABLES["curves"],
        transfer_summary=TABLES["transfer_summary"],
        task_transfer_summary=TABLES["task_transfer_summary"],
    output:
        text=f"{R}/{layout.CLAIMS_FILE}",
        data=f"{R}/{layout.CLAIMS_DATA_FILE}",
        page=report(f"{R}/{layout.CLAIMS_PAGE_FILE}", caption="../report/claims.rst", category="Claims"),
    log:
        layout.log_file(R, "claims"),
    conda:
        "../../environment.yml"
    shell:
        "bdnn claims --no-default-config --config {input.config} --curves {input.curves}"
        " --transfer-summary {input.transfer_summary} --task-transfer-summary {input.task_transfer_summary} --out {output.text} --data {output.data} --html {output.page} > {log} 2>&1"


rule publish_claims:
    """The run's verdicts beside its figures (committed with them; `bdnn readme` writes the README's
    generated blocks from this copy)."""
    input:
        f"{R}/{layout.CLAIMS_DATA_FILE}",
    output:
        layout.published(FIG)["claims"],
    log:
        layout.log_file(R, "publish/claims"),
    conda:
        "../../environment.yml"
    shell:
        "cp {input} {output}.tmp && mv {output}.tmp {output} && echo copied {input} to {output} > {log}"
