# BDNN-sp: the reproduction of Section 3 (Fig. 3, Fig. 4, the transfer comparison), tracked in MLflow.
#   snakemake                      # full sweep with config/config.yaml (workflow/profiles/default is used)
#   snakemake --configfile config/paper-lr.yaml     # the paper's lr 1, into results/paper-lr, figures/paper-lr
#   snakemake --workflow-profile workflow/profiles/slurm   # on a SLURM cluster
#   snakemake study --configfile config/config.yaml config/study.yaml   # the study (make study)
#   snakemake compare --configfile config/config.yaml config/compare.yaml   # the comparison (make compare)
# The method: docs/method.md. Every path: bdnn/pipeline/layout.py. Every default: bdnn/pipeline/config.schema.yaml.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/config.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/develop.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/tracking.smk"
include: "workflow/rules/study.smk"
include: "workflow/rules/compare.smk"


localrules:
    all,
    config,
    data,
    aggregate,
    figures,
    claims,
    publish_claims,
    publish_study_map,
    track_init,
    track_develop,
    track_transfer,
    track_sweep,
    study,
    study_cell,
    study_map,
    track_study_init,
    track_study_cell,
    track_study,
    compare_data,
    compare_dataset,
    compare_claims,
    publish_compare,
    track_compare_init,
    track_compare_scratch,
    track_compare,
    compare,


rule all:
    default_target: True
    input:
        rules.aggregate.output,
        rules.figures.output,
        rules.claims.output,
        rules.publish_claims.output,
        tracked_outputs(),
        rules.track_sweep.output,
