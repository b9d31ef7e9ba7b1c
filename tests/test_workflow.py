"""The pipeline end to end through `snakemake` on the tiny config, in a temporary directory:
tables, figures, claims, report, MLflow runs, idempotent reruns, and the DAG of the real config."""

import re
import shutil

import pandas as pd
import pytest
import yaml
from conftest import REPO, snakemake

pytestmark = pytest.mark.slow

CURVES = [
    "classes",
    "n_classes",
    "samples",
    "seed",
    "iteration",
    "hidden",
    "A",
    "S",
    "E",
    "F",
    "S_raw",
    "S_normalized",
    "E_printed",
    "E_per_connection",
    "test_acc",
]
SUMMARY = [
    "classes",
    "n_classes",
    "samples",
    "seed",
    "hidden_at_peak",
    "peak_censored",
    "A_at_peak",
    "S_at_peak",
    "E_at_peak",
    "F_at_peak",
    "test_acc_at_peak",
    "test_acc_unpruned",
    "seconds",
]
TRANSFER = ["seed", "network", "hidden", "new_samples", "step", "error_new", "error_test"]


def mlflow_runs(work):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{work}/results/mlflow.db")
    exp = client.get_experiment_by_name("bdnn-sp-test")
    return client, exp, client.search_runs([exp.experiment_id], max_results=1000)


def test_tables_have_the_fixed_columns(baseline):
    work, _ = baseline
    curves = pd.read_csv(work / "results" / "curves.csv")
    summary = pd.read_csv(work / "results" / "summary.csv")
    transfer = pd.read_csv(work / "results" / "transfer.csv")
    assert set(CURVES) <= set(curves.columns)
    assert set(SUMMARY) <= set(summary.columns)
    assert set(TRANSFER) <= set(transfer.columns)
    assert len(summary) == 2 * 2 * 2  # subsets x sample counts x seeds
    assert sorted(summary["n_classes"].unique()) == [5, 10]
    assert set(transfer["network"]) == {"pruned", "unpruned"} and set(transfer["new_samples"]) == {100, 200}
    # the summary's peak is the curve's first argmax of F
    for row in summary.itertuples():
        c = curves[(curves.classes == row.classes) & (curves.samples == row.samples) & (curves.seed == row.seed) & (curves.iteration > 0)]
        assert row.hidden_at_peak == c.loc[c["F"].idxmax(), "hidden"]
        assert row.peak_censored == (c["F"].idxmax() == c.index[-1])
    assert curves[curves.iteration == 0]["S"].isna().all()


def test_figures_claims_and_logs(baseline):
    work, _ = baseline
    for name in ("fig3.png", "fig3.pdf", "fig4.png", "fig4.pdf"):
        assert (work / "figures" / name).stat().st_size > 10_000
    claims = (work / "results" / "claims.md").read_text()
    for n in "1234":
        assert f"## Claim {n}" in claims
    # the tiny sweep has 2 seeds: every verdict is inconclusive, with its evidence beside it
    assert claims.count("**inconclusive (n < 5)**") == 4 * 3 + 1 + 4 * 3 + 1  # table cells + per-reading lines
    assert claims.count("n/a (not transferred)") == 3 and "Wilson interval" in claims and "sign-flip p" in claims
    for sub in ("develop", "transfer"):
        assert list((work / "results" / "benchmarks" / sub).rglob("*.tsv")), sub
        assert list((work / "results" / "logs" / sub).rglob("*.log")), sub


def test_mlflow_runs_nested_with_params_metrics_artifacts(baseline):
    work, _ = baseline
    client, exp, runs = mlflow_runs(work)
    parents = [r for r in runs if r.data.tags.get("kind") == "sweep"]
    children = [r for r in runs if r.data.tags.get("kind") in ("develop", "transfer")]
    assert len(parents) == 1 and len(children) == 8 + 2 and len(runs) == 11
    assert exp.artifact_location.startswith("file://") and f"{work}/results/mlartifacts" in exp.artifact_location
    parent = parents[0].info.run_id
    curves = pd.read_csv(work / "results" / "curves.csv")
    for run in children:
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlflow.parentRunId"] == parent
        assert run.data.tags["git_commit"] and run.data.tags["sweep"] == parents[0].data.tags["sweep"]
        assert run.data.params["lr"] == "0.5" and run.data.params["prune.fraction"] == "0.2"
        arts = {a.path for a in client.list_artifacts(run.info.run_id)}
        if run.data.tags["kind"] == "develop":
            t = run.data.tags
            c = curves[(curves.classes == t["classes"]) & (curves.samples == int(t["samples"])) & (curves.seed == int(t["seed"]))]
            hist = client.get_metric_history(run.info.run_id, "A")
            assert sorted(m.step for m in hist) == sorted(c["iteration"])
            assert [m.value for m in sorted(hist, key=lambda m: m.step)] == pytest.approx(list(c.sort_values("iteration")["A"]))
            assert len(client.get_metric_history(run.info.run_id, "F")) == len(c) - 1  # no F at iteration 0
            assert {"curve.csv", "summary.json", "model.pt", "curve.png"} <= arts
        else:
            assert {"transfer.csv", "summary.json"} <= arts


def test_second_run_does_nothing_and_retracking_adds_no_duplicates(baseline, mnist_cache):
    work, _ = baseline
    proc = snakemake(work, cache=mnist_cache)
    assert "Nothing to be done" in proc.stdout + proc.stderr
    shutil.rmtree(work / "results" / "tracking" / "develop")
    proc = snakemake(work, cache=mnist_cache)
    assert "rule develop:" not in proc.stdout + proc.stderr
    _, _, runs = mlflow_runs(work)
    assert len(runs) == 11
    assert len(list((work / "results" / "tracking" / "develop").rglob("*.json"))) == 8


def test_adding_a_seed_runs_only_the_new_seeds_jobs(baseline, tmp_path, mnist_cache):
    work, _ = baseline
    cfg = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    assert cfg["seeds"] == [0, 1]
    more = tmp_path / "more-seeds.yaml"
    more.write_text(yaml.safe_dump({**cfg, "seeds": [0, 1, 2], "samples": [*cfg["samples"], 300]}))
    proc = snakemake(work, "-n", cache=mnist_cache, config=more)
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", proc.stdout + proc.stderr, re.M))
    # 2 subsets x (3 counts x 3 seeds - 2 counts x 2 seeds already run) = 2 x 5 new develop jobs;
    # one new transfer job (seed 2); the sweep's parent run is reused
    assert counts["develop"] == "10" and counts["track_develop"] == "10", counts
    assert counts["transfer"] == "1" and counts["track_transfer"] == "1" and "track_init" not in counts, counts
    out = proc.stdout + proc.stderr
    for old in re.findall(r"wildcards: (.*)", out):
        assert not re.search(r"samples=(100|200), seed=[01]\b", old), old
    assert (work / "results" / "config.yaml").exists()


def test_report_is_built(baseline, mnist_cache):
    work, _ = baseline
    snakemake(work, "--report", str(work / "report.html"), cache=mnist_cache)
    assert (work / "report.html").stat().st_size > 50_000


def test_default_config_dag_and_slurm_profile_parse(tmp_path, mnist_cache):
    proc = snakemake(tmp_path, "-n", cache=mnist_cache, config=REPO / "config" / "config.yaml")
    out = proc.stdout + proc.stderr
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", out, re.M))
    assert counts["develop"] == str(6 * 2 * 3) and counts["transfer"] == "3"
    assert counts["track_develop"] == str(6 * 2 * 3) and counts["aggregate"] == "1"
    proc = snakemake(
        tmp_path,
        "-n",
        "--workflow-profile",
        str(REPO / "workflow" / "profiles" / "slurm"),
        cache=mnist_cache,
        config=REPO / "config" / "config.yaml",
    )
    assert "develop" in proc.stdout
