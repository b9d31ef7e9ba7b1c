# The comparison (`make compare` = `snakemake compare` with config/compare.yaml merged over
# config/config.yaml): every pruning criterion on every dataset, networks trained from scratch at the
# operating widths, claim 5. Its develop runs are ordinary develop jobs under each variant's settings
# key, so the configured dataset's Eq. 1 runs are the sweep's own. The variants and the functions:
# common.smk.
COMPARE_FILES = layout.compare_files(R)


if COMPARE is not None:

    rule compare_develop:
        """The comparison's develop runs of one subset, count and seed: on each dataset every
        criterion's (but the sweep's own Eq. 1 run) from one training of the full network, which no
        criterion changes: the same files as a develop job each, in less time; then the networks
        trained from scratch at the operating widths of its Eq. 1 run, on the same data."""
        input:
            configs=compare_develop_inputs("config"),
            caches=compare_develop_inputs("cache"),
            curves=compare_develop_inputs("curve"),
        output:
            **compare_develop_outputs(),
        log:
            layout.log_file(R, layout.compare_develop_job("{classes}", "{samples}", "{seed}")),
        benchmark:
            layout.benchmark_file(R, layout.compare_develop_job("{classes}", "{samples}", "{seed}"))
        wildcard_constraints:
            classes=re.escape(COMPARE["classes"]),
            samples="|".join(map(str, COMPARE["samples"])),
        priority: compare_develop_priority
        conda:
            "../../environment.yml"
        threads: 1
        params:
            commands=compare_develop_commands,
        shell:
            "({params.commands}) > {log} 2>&1"

    # the comparison's develop runs at compare.samples come from its shared job, not one by one
    ruleorder: compare_develop > develop


rule compare_data:
    """Build and verify the cache of a dataset other than the configured one (beside its cache)."""
    output:
        compare_cache("{dataset}"),
    log:
        layout.log_file(R, "data-{dataset}"),
    wildcard_constraints:
        dataset="|".join(map(re.escape, OTHER_DATASETS)) or "(?!)",
    conda:
        "../../environment.yml"
    shell:
        "bdnn data --no-default-config --set dataset={wildcards.dataset} --cache {output} > {log} 2>&1"


rule compare_dataset:
    """One dataset of the comparison: every criterion's operating points and the scratch networks',
    the verdicts per baseline, and the trade-off figure."""
    input:
        config=ancient(EFFECTIVE),
        curves=lambda w: compare_trade_off_files(w.dataset, "curve"),
        summaries=lambda w: compare_trade_off_files(w.dataset, "summary"),
        scratch=lambda w: compare_scratch_files(w.dataset, "table"),
    output:
        **layout.compare_dataset_files(R, "{dataset}"),
        figure=report(
            layout.tradeoff_figures(FIG, "{dataset}")["figure"],
            caption="../report/tradeoff.rst",
            category="Comparison",
        ),
        figure_pdf=layout.tradeoff_figures(FIG, "{dataset}")["figure_pdf"],
    log:
        layout.log_file(R, "compare/{dataset}"),
    conda:
        "../../environment.yml"
    params:
        out=lambda w, output: os.path.dirname(output.points),
        figures=lambda w, output: os.path.dirname(output.figure),
    shell:
        "bdnn compare dataset --no-default-config --config {input.config} --dataset {wildcards.dataset} --curves {input.curves}"
        " --summaries {input.summaries} --scratch {input.scratch} --out {params.out} --figures {params.figures} > {log} 2>&1"


rule compare_claims:
    """The comparison's claims.md / claims.json / claims.html: the verdicts per baseline on each
    dataset, claims 1-3 on each dataset's Eq. 1 sweep and claim 5; the trade-off figures' README.md
    where a figure changed."""
    input:
        config=ancient(EFFECTIVE),
        verdicts=lambda w: [layout.compare_dataset_files(R, d)["verdicts"] for d in COMPARE["datasets"]],
        curves=lambda w: compare_sweep_files("curve"),
        summaries=lambda w: compare_sweep_files("summary"),
        figures=lambda w: [f for d in COMPARE["datasets"] for f in layout.tradeoff_figures(FIG, d).values()],
    output:
        claims=COMPARE_FILES["claims"],
        data=COMPARE_FILES["data"],
        page=report(COMPARE_FILES["page"], caption="../report/compare.rst", category="Comparison"),
    log:
        layout.log_file(R, "compare/claims"),
    conda:
        "../../environment.yml"
    params:
        out=lambda w, output: os.path.dirname(output.claims),
    shell:
        "bdnn compare claims --no-default-config --config {input.config} --verdicts {input.verdicts} --curves {input.curves}"
        " --summaries {input.summaries} --out {params.out} --figures {input.figures} > {log} 2>&1"


rule publish_compare:
    """The comparison's verdicts beside its figures (committed with them; `bdnn readme` reads the copy)."""
    input:
        COMPARE_FILES["data"],
    output:
        layout.published_compare(FIG),
    log:
        layout.log_file(R, "publish/compare"),
    conda:
        "../../environment.yml"
    shell:
        "cp {input} {output}.tmp && mv {output}.tmp {output} && echo copied {input} to {output} > {log}"


rule track_compare_init:
    """Create the comparison's parent MLflow run, in the comparison's own experiment, before its
    runs are logged (its variants' develop runs by the track_develop rule, nested under it)."""
    input:
        config=ancient(EFFECTIVE),
    output:
        COMPARE_RECORD,
    log:
        layout.log_file(R, "tracking/compare"),
    conda:
        "../../environment.yml"
    params:
        key=COMPARE_KEY,
    shell:
        "bdnn track compare --no-default-config --config {input.config} --out {output} > {log} 2>&1"


rule track_compare_scratch:
    """Log one dataset's scratch networks to MLflow (a run per scratch job), nested under the
    comparison's parent run, as one job."""
    input:
        config=tracking_config,
        tables=lambda w: compare_scratch_files(w.dataset, "table"),
        summaries=lambda w: compare_scratch_files(w.dataset, "summary"),
        parent=COMPARE_RECORD,
    output:
        layout.compare_tracking_file(R, "scratch/{dataset}"),
    log:
        layout.log_file(R, "tracking/compare-scratch-{dataset}"),
    conda:
        "../../environment.yml"
    params:
        results=lambda w, input: [os.path.dirname(f) for f in input.tables],
    shell:
        "bdnn track scratch --no-default-config --config {input.config} --result {params.results}"
        " --sweep {input.parent} --out {output} > {log} 2>&1"


rule track_compare:
    """Put the comparison's results on its parent run: claims.md as its description, the verdicts
    as metrics, the tables and figures as artifacts (updated when they change)."""
    input:
        config=ancient(EFFECTIVE),
        parent=COMPARE_RECORD,
        claims=COMPARE_FILES["claims"],
        data=COMPARE_FILES["data"],
        files=lambda w: [
            f
            for d in COMPARE["datasets"]
            for f in [*layout.compare_dataset_files(R, d).values(), layout.tradeoff_figures(FIG, d)["figure"]]
        ],
    output:
        layout.compare_tracking_file(R, "results"),
    log:
        layout.log_file(R, "tracking/compare-results"),
    conda:
        "../../environment.yml"
    shell:
        "bdnn track compare-results --no-default-config --config {input.config} --sweep {input.parent} --claims {input.claims}"
        " --claims-data {input.data} --files {input.claims} {input.data} {input.files} --out {output} > {log} 2>&1"


rule compare:
    """The whole comparison (make compare)."""
    input:
        compare_targets,
