"""The pipeline end to end through `snakemake` on the tiny config, in a temporary directory:
tables, figures, claims, report, MLflow runs, idempotent reruns, and the DAG of the real config."""

import json
import re
import shutil

import pandas as pd
import pytest
import yaml
from conftest import REPO, env_with_venv, mlflow_runs, snakemake

from bdnn.pipeline.layout import EXPERIMENTS, FIGURES, NETWORKS, TASK_NETWORKS

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
    assert set(transfer["network"]) == set(NETWORKS) and set(transfer["new_samples"]) == {100, 200}
    ts = pd.read_csv(work / "results" / "transfer_summary.csv")
    assert len(ts) == len(NETWORKS) * 2 * 2  # networks x seeds x draws
    assert set(ts.loc[ts.network == "scratch", "hidden"]) == set(ts.loc[ts.network == "pruned", "hidden"])
    task = pd.read_csv(work / "results" / "task_transfer_summary.csv")
    assert len(task) == len(TASK_NETWORKS) * 2 * 2 and set(task.new_samples) == {50, 100}
    assert (task.loc[task.network == "scratch", "epochs"] == 0).all()
    assert (ts.loc[ts.network == "unpruned_epochs", "epochs"].to_numpy() == ts.loc[ts.network == "pruned", "epochs"].to_numpy()).all()
    # the summary's peak is the curve's first argmax of F
    for row in summary.itertuples():
        c = curves[(curves.classes == row.classes) & (curves.samples == row.samples) & (curves.seed == row.seed) & (curves.iteration > 0)]
        assert row.hidden_at_peak == c.loc[c["F"].idxmax(), "hidden"]
        assert row.peak_censored == (c["F"].idxmax() == c.index[-1])
    assert curves[curves.iteration == 0]["S"].isna().all()


def test_figures_claims_and_logs(baseline):
    work, _ = baseline
    for name in [f"{fig}.{fmt}" for fig in FIGURES for fmt in ("png", "pdf")]:
        assert (work / "figures" / name).stat().st_size > 10_000
    claims = (work / "results" / "claims.md").read_text()
    for n in "1234":
        assert f"## Claim {n}" in claims
    # the tiny sweep has 2 seeds: every verdict is inconclusive, with its evidence beside it
    # claims 1-3: 4 readings in the table and in the text; claim 4: its cell, the whole, each control and draw
    # and the task transfer: the whole and its two other networks per draw
    assert claims.count("**inconclusive (n < 6)**") == 4 * 3 * 2 + 1 + 1 + len(NETWORKS[1:]) * 2 + 1 + 2 * 2
    assert "## Beyond the paper: transfer to another task" in claims
    assert claims.count("n/a (not transferred)") == 3 and "mean share over 2 seeds" in claims and "smallest possible 1/4)" in claims
    # the run's verdicts published beside its figures, byte for byte (bdnn readme reads this copy)
    assert (work / "figures" / "claims.json").read_bytes() == (work / "results" / "claims.json").read_bytes()
    for sub in ("develop", "transfer"):
        assert list((work / "results" / "benchmarks" / sub).rglob("*.tsv")), sub
        assert list((work / "results" / "logs" / sub).rglob("*.log")), sub


def test_mlflow_runs_nested_with_params_metrics_artifacts(baseline):
    work, _ = baseline
    client, exp, runs = mlflow_runs(work)
    parents = [r for r in runs if r.data.tags.get("kind") == "sweep"]
    children = [r for r in runs if r.data.tags.get("kind") in ("develop", *EXPERIMENTS)]
    assert len(parents) == 1 and len(children) == 8 + 2 * (len(NETWORKS) + len(TASK_NETWORKS)) and len(runs) == 25
    assert exp.artifact_location.startswith("file://") and f"{work}/results/mlartifacts" in exp.artifact_location
    parent = parents[0].info.run_id
    curves = pd.read_csv(work / "results" / "curves.csv")
    for run in children:
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlflow.parentRunId"] == parent
        assert run.data.tags["git_commit"] and run.data.tags["sweep"] == parents[0].data.tags["sweep"]
        assert run.data.params["lr"] == "0.5" and run.data.params["prune.fraction"] == "0.2"
        assert "samples" not in run.data.params and "seeds" not in run.data.params  # scalars only: plottable
        assert run.info.end_time - run.info.start_time > 0  # the computation's duration, from its summary
        arts = {a.path for a in client.list_artifacts(run.info.run_id)}
        if run.data.tags["kind"] == "develop":
            t = run.data.tags
            assert run.data.params["n_samples"] == t["n_samples"] and run.data.params["classes"] == t["classes"]
            c = curves[(curves.classes == t["classes"]) & (curves.samples == int(t["n_samples"])) & (curves.seed == int(t["seed"]))]
            peak = c[c.iteration > 0].loc[c[c.iteration > 0]["F"].idxmax()]
            assert t["mlflow.note.content"].startswith(f"developed: {int(peak['hidden'])} hidden at iteration {int(peak['iteration'])}")
            hist = client.get_metric_history(run.info.run_id, "A")
            assert sorted(m.step for m in hist) == sorted(c["iteration"])
            assert [m.value for m in sorted(hist, key=lambda m: m.step)] == pytest.approx(list(c.sort_values("iteration")["A"]))
            assert len(client.get_metric_history(run.info.run_id, "F")) == len(c) - 1  # no F at iteration 0
            assert {"curve.csv", "summary.json", "model.pt", "curve.png"} <= arts
        else:
            assert {"transfer.csv", "summary.json"} <= arts
            t = run.data.tags
            assert t["network"] in NETWORKS and "samples" not in t and t["mlflow.note.content"].startswith(f"{t['network']}: ")


def test_parent_run_carries_the_results_and_ui_finds_the_store(baseline, tmp_path):
    from bdnn.pipeline.config import load_config
    from bdnn.tracking.parents import run_note
    from bdnn.tracking.store import ui_target

    work, _ = baseline
    client, exp, runs = mlflow_runs(work)
    parent = next(r for r in runs if r.data.tags.get("kind") == "sweep")
    claims = (work / "results" / "claims.md").read_text()
    note = parent.data.tags["mlflow.note.content"]  # the overview renders it as markdown
    assert note == run_note(claims) and "## Verdicts" in note and len(note) <= 8000
    assert note == claims or note.endswith("the full text is the artifact results/claims.md)*\n")
    data = json.loads((work / "results" / "claims.json").read_text())
    assert parent.data.metrics["claim2_spearman"] == pytest.approx(data["readings"][data["configured_reading"]]["claim2"]["statistic"])
    assert "claim4_scratch_100_difference" in parent.data.metrics
    arts = {a.path for d in ("figures", "results") for a in client.list_artifacts(parent.info.run_id, d)}
    assert {"figures/fig3.png", "figures/fig4.png", "figures/transfer_controls.png", "results/claims.md", "results/curves.csv"} <= arts
    page = (work / "results" / "claims.html").read_text()
    assert "<table>" in page and "<strong>inconclusive (n &lt; 6)</strong>" in page
    # bdnn ui: the store and its runs table; a moved results folder is detected, never silently broken
    cfg = load_config(REPO / "config" / "test.yaml", overrides={"mlflow": {"tracking_uri": f"sqlite:///{work}/results/mlflow.db"},
                                                                   "results_dir": str(work / "results")})  # fmt: skip
    target = ui_target(cfg)
    assert target["experiment_id"] == exp.experiment_id and target["warning"] is None
    moved = tmp_path / "moved"
    shutil.copytree(work / "results", moved)
    cfg["results_dir"], cfg["mlflow"]["tracking_uri"] = str(moved), f"sqlite:///{moved}/mlflow.db"
    assert "the results folder was moved" in ui_target(cfg)["warning"]


def test_second_run_does_nothing_and_retracking_adds_no_duplicates(baseline, mnist_cache):
    work, _ = baseline
    proc = snakemake(work, cache=mnist_cache)
    assert "Nothing to be done" in proc.stdout + proc.stderr
    shutil.rmtree(work / "results" / "tracking" / "develop")
    proc = snakemake(work, cache=mnist_cache)
    assert "rule develop:" not in proc.stdout + proc.stderr
    _, _, runs = mlflow_runs(work)
    assert len(runs) == 25
    assert len(list((work / "results" / "tracking" / "develop").rglob("*.json"))) == 4  # one batch per subset and count


def test_adding_a_seed_runs_only_the_new_seeds_jobs(baseline, tmp_path, mnist_cache):
    work, _ = baseline
    cfg = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    assert cfg["seeds"] == [0, 1]
    more = tmp_path / "more-seeds.yaml"
    more.write_text(yaml.safe_dump({**cfg, "seeds": [0, 1, 2], "samples": [*cfg["samples"], 300]}))
    proc = snakemake(work, "-n", cache=mnist_cache, config=more)
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", proc.stdout + proc.stderr, re.M))
    # 2 subsets x (3 counts x 3 seeds - 2 counts x 2 seeds already run) = 2 x 5 new develop jobs;
    # one new job per transfer experiment (seed 2: every network); the sweep's parent run is reused;
    # every tracking batch that gains a seed reruns (2 subsets x 3 counts; one per network), its old runs kept
    assert counts["develop"] == "10" and counts["track_develop"] == "6", counts
    assert counts["transfer"] == counts["task_transfer"] == "1", counts
    assert counts["track_transfer"] == str(len(NETWORKS) + len(TASK_NETWORKS)) and "track_init" not in counts, counts
    out = proc.stdout + proc.stderr
    planned = re.findall(r"wildcards: (.*)", out)
    assert sum("classes=" in w for w in planned) == 10 + 6  # the dry run lists them: 10 develop jobs and 6 tracking batches
    for old in planned:
        assert not re.search(r"samples=(100|200), seed=[01]\b", old), old


def _results_state(results):
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(results.rglob("*")) if p.is_file()}


def test_parsing_the_workflow_imports_no_torch_and_writes_nothing(baseline, tmp_path, mnist_cache):
    """`snakemake -n` and `--lint` with a torch that raises on import: they work, and no file under
    results/ is created or changes bytes or mtime; nor does a dry run with other settings or seeds
    over a finished sweep (the configs its jobs read are written by a rule, named by content)."""
    work, _ = baseline
    poison = tmp_path / "poison"
    (poison / "torch").mkdir(parents=True)
    (poison / "torch" / "__init__.py").write_text("raise ImportError('parsing the workflow imported torch')\n")
    env = {**env_with_venv(), "PYTHONPATH": str(poison)}
    before = _results_state(work / "results")
    other = [("-n", "--config", change, f"cache={mnist_cache}") for change in ("lr=0.3", "seeds=[0, 5]")]
    for args in (("-n",), ("--lint",), *other, ("study", "-n")):
        configs = (
            (REPO / "config" / "test.yaml", REPO / "config" / "test-study.yaml") if args[0] == "study" else REPO / "config" / "test.yaml"
        )
        proc = snakemake(work, *args, cache=mnist_cache, config=configs, env=env, check=False)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0 and "imported torch" not in out, out[-3000:]
    assert _results_state(work / "results") == before
    configs = sorted((work / "results" / "configs").glob("*.yaml"))
    assert len(configs) == 7  # the whole config and the views of its jobs (2 develop, 2 transfer, 2 tracking), each named by its content


def test_report_is_built(baseline, mnist_cache):
    work, _ = baseline
    snakemake(work, "--report", str(work / "report.html"), cache=mnist_cache)
    assert (work / "report.html").stat().st_size > 50_000


def test_default_config_dag_and_slurm_profile_parse(tmp_path, mnist_cache):
    proc = snakemake(tmp_path, "-n", cache=mnist_cache, config=REPO / "config" / "config.yaml")
    out = proc.stdout + proc.stderr
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", out, re.M))
    seeds = len(yaml.safe_load((REPO / "config" / "config.yaml").read_text())["seeds"])
    assert seeds == 16
    assert counts["develop"] == str(6 * 2 * seeds) and counts["transfer"] == counts["task_transfer"] == str(seeds)
    assert counts["track_develop"] == str(6 * 2) and counts["aggregate"] == "1"
    args = ("-n", "--config", "seeds=[0, 3]", f"cache={mnist_cache}")
    proc = snakemake(tmp_path, *args, cache=mnist_cache, config=REPO / "config" / "config.yaml")
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", proc.stdout + proc.stderr, re.M))
    assert counts["develop"] == str(6 * 2 * 2) and counts["transfer"] == counts["task_transfer"] == "2"  # a list on the command line works
    env = {**env_with_venv(), "SBATCH_PARTITION": "testpart", "SBATCH_ACCOUNT": "testacct"}
    proc = snakemake(
        tmp_path, "-n", "--workflow-profile", str(REPO / "workflow" / "profiles" / "slurm"), cache=mnist_cache,
        config=REPO / "config" / "config.yaml", env=env,
    )  # fmt: skip
    jobs = re.split(r"\n(?=\S*rule )", proc.stdout + proc.stderr)
    develop = [j for j in jobs if re.match(r"\S*rule develop:", j)]
    assert len(develop) == 6 * 2 * seeds
    for job in develop:  # the profile's resources reach every develop job
        resources = dict(re.findall(r"(\w+)=([^,\s]+)", re.search(r"resources: (.*)", job).group(1)))
        assert (resources["slurm_partition"], resources["slurm_account"]) == ("testpart", "testacct"), resources
        assert (resources["mem_mb"], resources["runtime"], resources["cpus_per_task"]) == ("1000", "20", "1"), resources
