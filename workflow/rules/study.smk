# The study (`make study` = `snakemake study` with config/study.yaml merged over config/config.yaml):
# cells that change one factor at a time from this config (bdnn.pipeline.cells). A trained cell's develop
# runs are ordinary develop jobs under its own settings key; a fitness-weight cell reuses the
# default cell's. Every new run is tracked under the study's parent MLflow run. The cells and the
# functions: common.smk.
STUDY_FILES = layout.study_files(R)
MAP_FIGURES = layout.study_map_figures(FIG)


rule track_study_init:
    """Create the study's parent MLflow run before its runs are logged."""
    input:
        config=ancient(STUDY_CONFIG),
    output:
        STUDY_RECORD,
    log:
        layout.log_file(R, "tracking/study"),
    conda:
        "../../environment.yml"
    params:
        key=STUDY_KEY,
    shell:
        "bdnn track study --no-default-config --config {input.config} --out {output} > {log} 2>&1"


rule track_study_cell:
    """Log a trained cell's develop runs to MLflow, nested under the study's parent run (one job per
    cell: one start of MLflow for its runs, not one per run)."""
    input:
        config=cell_tracking_config,
        curves=cell_develop_files("curve"),
        summaries=cell_develop_files("summary"),
        models=cell_develop_files("model"),
        parent=STUDY_RECORD,
    output:
        layout.study_tracking_file(R, "cells/{cell}"),
    log:
        layout.log_file(R, "tracking/study-{cell}"),
    conda:
        "../../environment.yml"
    params:
        results=lambda w, input: [os.path.dirname(f) for f in input.curves],
    shell:
        "bdnn track develop --no-default-config --config {input.config} --result {params.results}"
        " --sweep {input.parent} --out {output} > {log} 2>&1"


rule study_cell:
    """One cell of the study: its verdicts on claims 1-3, each run's plateau and trainable range,
    and its Fig. 3 and Fig. 4."""
    input:
        config=ancient(STUDY_CONFIG),
        curves=cell_develop_files("curve"),
        summaries=cell_develop_files("summary"),
    output:
        **layout.study_cell_files(R, "{cell}"),
        **{
            name: (
                report(path, caption="../report/study_cell.rst", category="Study", subcategory="{cell}") if path.endswith(".png") else path
            )
            for name, path in layout.study_cell_figures(FIG, "{cell}").items()
        },
    log:
        layout.log_file(R, "study/{cell}"),
    conda:
        "../../environment.yml"
    params:
        key=STUDY_KEY,
        out=lambda w, output: os.path.dirname(output.cell),
        figures=lambda w, output: os.path.dirname(output.fig3),
    shell:
        "bdnn study cell --no-default-config --config {input.config} --cell {wildcards.cell} --curves {input.curves}"
        " --summaries {input.summaries} --out {params.out} --figures {params.figures} > {log} 2>&1"


rule study_map:
    """The claims map (cells x claims), the study's report and the map figure."""
    input:
        config=ancient(STUDY_CONFIG),
        cells=[layout.study_cell_files(R, name)["cell"] for name in CELLS],
        figures=[path for name in CELLS for path in layout.study_cell_figures(FIG, name).values()],
    output:
        map=STUDY_FILES["map"],
        report=STUDY_FILES["report"],
        page=report(STUDY_FILES["page"], caption="../report/study.rst", category="Study"),
        figure=report(MAP_FIGURES["map"], caption="../report/claims_map.rst", category="Study"),
        figure_pdf=MAP_FIGURES["map_pdf"],
    log:
        layout.log_file(R, "study/map"),
    conda:
        "../../environment.yml"
    params:
        key=STUDY_KEY,
        out=lambda w, output: os.path.dirname(output.map),
        figures=lambda w, output: os.path.dirname(output.figure),
    shell:
        "bdnn study map --no-default-config --config {input.config} --cells {input.cells} --cell-figures {input.figures}"
        " --out {params.out} --figures {params.figures} > {log} 2>&1"


rule track_study:
    """Put the study's results on its parent run: report.md as its description, the map as
    metrics, the map, report and figures as artifacts (updated when they change)."""
    input:
        config=ancient(STUDY_CONFIG),
        parent=STUDY_RECORD,
        report=STUDY_FILES["report"],
        map=STUDY_FILES["map"],
        files=[MAP_FIGURES["map"], *(layout.study_cell_figures(FIG, name)[f] for name in CELLS for f in layout.STUDY_FIGURES)],
    output:
        layout.study_tracking_file(R, "results"),
    log:
        layout.log_file(R, "tracking/study-results"),
    conda:
        "../../environment.yml"
    shell:
        "bdnn track study-results --no-default-config --config {input.config} --sweep {input.parent} --claims {input.report}"
        " --claims-data {input.map} --files {input.report} {input.map} {input.files} --out {output} > {log} 2>&1"


rule study:
    """The whole study: every cell, the map, the report and their tracking (make study)."""
    input:
        study_targets,


rule publish_study_map:
    """The study's map and report beside its figures (committed with them; `bdnn readme` reads the
    map's copy, the README points to the report's)."""
    input:
        map=STUDY_FILES["map"],
        report=STUDY_FILES["report"],
    output:
        map=layout.published(FIG)["study_map"],
        report=layout.published(FIG)["study_report"],
    log:
        layout.log_file(R, "publish/study_map"),
    conda:
        "../../environment.yml"
    shell:
        "cp {input.map} {output.map}.tmp && mv {output.map}.tmp {output.map}"
        " && cp {input.report} {output.report}.tmp && mv {output.report}.tmp {output.report}"
        " && echo copied {input} to {output} > {log}"
