rule aggregate:
    """The results tables: curves.csv, summary.csv, transfer.csv."""
    input:
        curves=all_develop("curve"),
        summaries=all_develop("summary"),
        transfer=expand(f"{R}/transfer/seed{{seed}}/transfer.csv", seed=config["seeds"]),
    output:
        curves=f"{R}/curves.csv",
        summary=f"{R}/summary.csv",
        transfer=f"{R}/transfer.csv",
    log:
        f"{R}/logs/aggregate.log",
    shell:
        "bdnn aggregate {CFG} > {log} 2>&1"


rule figures:
    """Fig. 3 and Fig. 4 of the paper from the tables."""
    input:
        rules.aggregate.output,
    output:
        fig3=report(f"{FIG}/fig3.png", caption="../report/fig3.rst", category="Figures"),
        fig3_pdf=f"{FIG}/fig3.pdf",
        fig4=report(f"{FIG}/fig4.png", caption="../report/fig4.rst", category="Figures"),
        fig4_pdf=f"{FIG}/fig4.pdf",
    log:
        f"{R}/logs/figures.log",
    shell:
        "bdnn figures {CFG} > {log} 2>&1"


rule claims:
    """The paper's four claims with the measured evidence and a verdict under each S/E reading."""
    input:
        rules.aggregate.output,
    output:
        report(f"{R}/claims.md", caption="../report/claims.rst", category="Claims"),
    log:
        f"{R}/logs/claims.log",
    shell:
        "bdnn claims {CFG} > {log} 2>&1"
