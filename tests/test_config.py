"""Config: schema defaults, one-line errors naming the key, the CLI's handling of bad input, and
the pinned environment (requirements.lock, environment.yml, pyproject) agreeing."""

import re

import pytest
import yaml
from conftest import REPO, bdnn_cli, env_with_venv

from bdnn.data.registry import dataset
from bdnn.pipeline.config import ConfigError, load_config, numbers_in_lists, parse_classes, validate_config
from bdnn.pipeline.keys import settings_key


def test_defaults_come_from_the_schema_and_config_yaml_sets_only_the_experiment():
    cfg = validate_config({})
    assert cfg["samples"] == [600, 1200, 2400, 4800, 9600, 19200]
    assert cfg["prune"] == {"schedule": "fraction", "fraction": 0.1, "count": 50, "min_hidden": 2, "patience": None, "criterion": "eq1"}
    assert cfg["dataset"] == "mnist" and cfg["cache"] == "resources/mnist.npz" and cfg["results_dir"] == "results"
    assert cfg["fitness"]["stability"] == "normalized" and cfg["fitness"]["mean_weight"] == "per_connection"
    assert cfg["lr"] == 0.2 and cfg["initial_epochs"] == 4 and cfg["transfer"]["records"] == 48 and cfg["transfer"]["log_every"] is None
    assert set(yaml.safe_load((REPO / "config" / "config.yaml").read_text())) == {"samples", "classes", "seeds"}
    paper = load_config(REPO / "config" / "config.yaml", REPO / "config" / "paper-lr.yaml")
    assert paper["lr"] == 1.0 and paper["results_dir"] == "results/paper-lr" and paper["figures_dir"] == "figures/paper-lr"


def test_dataset_and_criterion_keep_the_default_keys_and_move_other_sweeps_to_their_own_folders():
    cfg = load_config(REPO / "config" / "config.yaml")
    # the keys of the default sweep, as they were before dataset and prune.criterion existed
    assert (settings_key(cfg), settings_key(cfg, "transfer")) == ("972b89271d", "5a5be9051a")
    assert settings_key(validate_config({**cfg, "dataset": "mnist", "prune": {"criterion": "eq1"}})) == "972b89271d"
    places = ("cache", "results_dir", "figures_dir")
    assert [cfg[k] for k in places] == ["resources/mnist.npz", "results", "figures"]
    assert cfg["mlflow"] == {"tracking_uri": "sqlite:///results/mlflow.db", "experiment": "bdnn-sp"}
    keys = {settings_key(cfg)}
    for sets, sub, cache in (
        (["dataset=fashion-mnist"], "fashion-mnist", "fashion-mnist"),
        (["prune.criterion=taylor"], "taylor", "mnist"),
        (["dataset=fashion-mnist", "prune.criterion=magnitude"], "fashion-mnist-magnitude", "fashion-mnist"),
    ):
        other = load_config(REPO / "config" / "config.yaml", sets=sets)
        assert [other[k] for k in places] == [f"resources/{cache}.npz", f"results/{sub}", f"figures/{sub}"]
        assert other["mlflow"] == {"tracking_uri": f"sqlite:///results/{sub}/mlflow.db", "experiment": f"bdnn-sp-{sub}"}
        keys.add(settings_key(other))
    assert len(keys) == 4
    # a folder set by hand wins
    mine = load_config(REPO / "config" / "config.yaml", sets=["dataset=fashion-mnist", "results_dir=mine"])
    assert mine["results_dir"] == "mine" and mine["mlflow"]["tracking_uri"] == "sqlite:///mine/mlflow.db"


def test_class_subsets_by_label_or_by_name():
    cfg = load_config(sets=["dataset=fashion-mnist", "transfer.classes=tops", "transfer.new_samples=[1200]", "task_transfer=null"],
        overrides={"classes": {"tops": ["T-shirt/top", "shirt", 2], "shoes": ["Sandal", "Sneaker", "Ankle boot"]}, "samples": [600]})  # fmt: skip
    assert cfg["classes"] == {"tops": [0, 6, 2], "shoes": [5, 7, 9]}
    with pytest.raises(ConfigError, match=r"config key classes.tops: unknown class 'Hat'; Fashion-MNIST's classes are T-shirt/top"):
        validate_config({"dataset": "fashion-mnist", "classes": {"tops": ["Hat", "Shirt"]}})
    with pytest.raises(ConfigError, match="config key classes.tops: a class is given twice"):
        validate_config({"dataset": "fashion-mnist", "classes": {"tops": ["Shirt", 6]}})
    with pytest.raises(ConfigError, match="unknown class 'Trouser'; MNIST's classes are 0, 1"):
        validate_config({"classes": {"a": ["Trouser", 1]}})
    with pytest.raises(ConfigError, match=r"config key classes.a: unknown class label\(s\) \[12\]; MNIST's labels are 0-9"):
        validate_config({"classes": {"a": ["12", 3]}})


def test_settings_key_changes_with_the_method_not_with_the_sweep_lists():
    cfg = validate_config({})
    key, tkey = settings_key(cfg), settings_key(cfg, "transfer")
    assert len(key) == 10 and key != tkey
    for same in (
        {"seeds": [0, 1, 2, 3, 4]},
        {"samples": [600]},
        {"classes": {"0-9": list(range(10)), "0-4": [0, 1, 2, 3, 4], "odd": [1, 3, 5, 7, 9]}},
        {"results_dir": "elsewhere"},
        {"runtime": {"device": "cpu"}},
        {"mlflow": {"experiment": "x"}},
    ):
        other = validate_config({**cfg, **same})
        assert settings_key(other) == key and settings_key(other, "transfer") == tkey, same
    for changed in ({"lr": 1.0}, {"prune": {"fraction": 0.2}}, {"fitness": {"gamma": 0.0}}, {"initial_epochs": 5}):
        assert settings_key(validate_config({**cfg, **changed})) != key, changed
    other = validate_config({**cfg, "transfer": {"epochs": 6}})
    assert settings_key(other) == key and settings_key(other, "transfer") != tkey  # transfer settings: transfer key only


def test_command_line_lists_of_integers_become_integers():
    # snakemake --config 'seeds=[0, 1]' hands the workflow ["0", "1"] (YAML's base loader)
    given = {"seeds": ["0", " 1"], "classes": {"x": ["3", "4"]}, "mlflow": {"experiment": "123"}, "samples": [600]}
    assert numbers_in_lists(given) == {"seeds": [0, 1], "classes": {"x": [3, 4]}, "mlflow": {"experiment": "123"}, "samples": [600]}
    assert numbers_in_lists({"seeds": ["0.5"]}) == {"seeds": ["0.5"]}  # not an integer: left for the schema to refuse


BAD = [
    ({"samples": [0]}, r"samples\.0: 0 is not allowed; it must be >= 1"),
    ({"samples": [-600]}, r"samples\.0: -600"),
    ({"samples": [600.5]}, r"samples\.0: 600\.5 is not of type integer"),
    ({"samples": ["600"]}, r"samples\.0: '600' is not of type integer"),
    ({"samples": [60000]}, r"samples: 60000 samples for subset '0-9' need 6000 training images per class"),
    ({"samples": [605]}, r"samples: 605 does not divide by the 10 classes"),
    ({"classes": {"x": [1, 12]}}, r"classes\.x\.1: 12 is not allowed; it must be <= 9"),
    ({"classes": {"x": [1, 1]}}, r"classes\.x: .*non-unique"),
    ({"classes": {"x": []}}, r"classes\.x: \[\] should be non-empty|classes\.x: .*too short"),
    ({"classes": {"x": [3]}}, r"classes\.x: .*too short"),
    ({"prune": {"fraction": 0}}, r"prune\.fraction: 0 is not allowed; it must be > 0"),
    ({"prune": {"fraction": 1.0}}, r"prune\.fraction: 1\.0 is not allowed; it must be < 1"),
    ({"prune": {"min_hidden": 0}}, r"prune\.min_hidden: 0 is not allowed; it must be >= 1"),
    ({"prune": {"min_hidden": 1000}}, r"prune\.min_hidden: 1000 must be below hidden_init \(1000\)"),
    ({"lr": 0}, r"lr: 0 is not allowed; it must be > 0"),
    ({"lr": -1}, r"lr: -1 is not allowed"),
    ({"fitness": {"alpha": "a third"}}, r"fitness\.alpha: 'a third' is not of type number"),
    ({"learning_rate": 0.1}, r"unknown key in \(top level\): 'learning_rate'.*allowed keys:"),
    ({"prune": {"fractoin": 0.2}}, r"unknown key in prune: 'fractoin'"),
    ({"fitness": {"stability": "entropy"}}, r"fitness\.stability: 'entropy' is not allowed; choose one of \['normalized', 'raw'\]"),
    ({"transfer": {"classes": "0-7"}}, r"transfer\.classes: '0-7' is not a key of classes"),
    ({"classes": {"0-9": list(range(10))}}, r"task_transfer\.from: '0-4' is not a key of classes \(0-9\); .* task_transfer: null"),
    ({"task_transfer": {"to": [4, 5]}}, r"task_transfer\.to: class\(es\) \[4\] are also in '0-4'"),
    ({"task_transfer": {"new_samples": [1201]}}, r"task_transfer\.new_samples: 1201 does not divide by the 5 classes"),
    # (1,200 + 24,000) / 5 of the new task + (9,600 + 1,200 + 19,200) / 10 of the main transfer = 5,040 + 3,000
    ({"task_transfer": {"new_samples": [1200, 24000]}}, r"task_transfer\.new_samples: the draws need 8040 training images per class"),
]


@pytest.mark.parametrize("override,message", BAD, ids=[m[:30] for _, m in BAD])
def test_bad_values_are_one_line_errors_naming_the_key(override, message):
    with pytest.raises(ConfigError) as err:
        validate_config(override)
    text = str(err.value)
    assert "\n" not in text
    assert re.search(message, text), text


def test_malformed_yaml_names_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("samples: [600, 1200\nlr: 0.1\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: malformed YAML at line \d+"):
        load_config(bad)
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(tmp_path / "list.yaml")


def test_parse_classes():
    assert parse_classes("0-4") == ("0-4", [0, 1, 2, 3, 4])
    assert parse_classes("1,3,7") == ("1,3,7", [1, 3, 7])
    assert parse_classes("small", {"small": [2, 5]}) == ("small", [2, 5])
    for spec, msg in [("3", "at least two"), ("1,1", "repeated"), ("0-10", "unknown class"), ("a-b", "label range"), ("", "at least two")]:
        with pytest.raises(ConfigError, match=msg):
            parse_classes(spec)
    fashion = dataset("fashion-mnist")
    assert parse_classes("Trouser,bag,Ankle boot", data=fashion) == ("Trouser,bag,Ankle boot", [1, 8, 9])
    assert parse_classes("T-shirt/top,Shirt", data=fashion) == ("T-shirt/top,Shirt", [0, 6])  # a dash in a name is no range
    assert parse_classes("0-4", data=fashion) == ("0-4", [0, 1, 2, 3, 4])
    for spec, msg in [("Trouser,Hat", "unknown class 'Hat'"), ("Bag,bag", "given twice"), ("T-shirt/top", "at least two")]:
        with pytest.raises(ConfigError, match=msg):
            parse_classes(spec, data=fashion)


CLI_BAD = [
    (["develop", "--classes", "0-9", "--samples", "0", "--seed", "0"], "--samples 0: must be a positive number"),
    (["develop", "--classes", "0-9", "--samples", "100", "--seed", "-1"], "--seed -1: must be >= 0"),
    (
        ["develop", "--classes", "0-9", "--samples", "100", "--seed", "0", "--settings", "0123456789"],
        "--settings 0123456789: the config's settings key is",
    ),
    (
        ["develop", "--classes", "0-9", "--samples", "100", "--seed", "0", "--set", "hidden_init=100000000"],
        "hidden_init: 100000000 is not allowed; it must be <= 100000",
    ),
    (["develop", "--classes", "0-9", "--samples", "100", "--seed", "0", "--set", "lr"], "--set 'lr': expected KEY=VALUE"),
    (
        ["transfer", "--other-task", "--network", "random", "--seed", "0"],
        "--network random: the transfer to another task has pruned, unpruned, scratch",
    ),
    (["develop", "--classes", "0-9", "--samples", "605", "--seed", "0"], "does not divide by the 10 classes"),
    (["develop", "--classes", "0-9", "--samples", "60000", "--seed", "0"], "need 6000 training images per class"),
    (["develop", "--classes", "0-9", "--samples", "ten", "--seed", "0"], "invalid int value: 'ten'"),
    (["develop", "--classes", "4,4", "--samples", "100", "--seed", "0"], "repeated class label"),
    (["develop", "--classes", "7", "--samples", "100", "--seed", "0"], "at least two classes"),
    (["develop", "--classes", "0-9", "--samples", "100", "--seed", "0", "--set", "lr=-1"], "lr: -1 is not allowed"),
    (["develop", "--classes", "0-9", "--samples", "100", "--seed", "0", "--set", "prune.fraction=1.5"], "prune.fraction: 1.5"),
    (["develop", "--classes", "0-9", "--samples", "100", "--seed", "0", "--set", "lrr=0.1"], "unknown key in (top level): 'lrr'"),
    (
        ["develop", "--classes", "0-9", "--samples", "100", "--seed", "0", "--set", "fitness.beta=x"],
        "fitness.beta: 'x' is not of type number",
    ),
]


@pytest.mark.parametrize("args,message", CLI_BAD, ids=[m[:30] for _, m in CLI_BAD])
def test_cli_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "out"
    proc = bdnn_cli(*args, "--out", str(out), "--cache", str(tmp_path / "no-cache.npz"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists() and not (tmp_path / "no-cache.npz").exists()


def test_ui_refuses_without_a_store_and_creates_none(tmp_path):
    proc = bdnn_cli("ui", "--no-default-config", cwd=tmp_path)
    assert proc.returncode == 2 and "no tracking store at" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())


def test_markdown_page_of_the_claims_subset():
    from bdnn.report.html import markdown_to_html

    page = markdown_to_html("# Title\n\nSome **bold** `x<y`.\n\n| a | b |\n|---|---|\n| **holds** | 1 |\n\n- one\n- two", "T")
    assert "<h1>Title</h1>" in page and "<p>Some <strong>bold</strong> <code>x&lt;y</code>.</p>" in page
    assert "<thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td><strong>holds</strong></td><td>1</td></tr></tbody>" in page
    assert "<ul><li>one</li><li>two</li></ul>" in page
    nested = markdown_to_html("- a\n  goes on\n- b\n  - b1\n  - b2", "T")
    assert "<ul><li>a goes on</li><li>b<ul><li>b1</li><li>b2</li></ul></li></ul>" in nested


def test_cli_malformed_config_file_and_missing_cache(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("lr: [0.1\n")
    proc = bdnn_cli("develop", "--config", str(bad), "--classes", "0-9", "--samples", "100", "--seed", "0", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "malformed YAML" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    corrupt = tmp_path / "mnist.npz"
    corrupt.write_bytes(b"garbage")
    proc = bdnn_cli("data", "--cache", str(corrupt))
    assert proc.returncode == 2 and "is corrupt" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert corrupt.read_bytes() == b"garbage"  # never overwritten silently


def test_cli_checkpoint_of_another_shape(tmp_path, mnist_cache):
    import torch

    from bdnn.method.model import PrunableMLP
    from bdnn.pipeline.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "m.pt", PrunableMLP(784, 7, 5), {})
    proc = bdnn_cli(
        "transfer",
        "--seed",
        "0",
        "--model",
        str(tmp_path / "m.pt"),
        "--cache",
        str(mnist_cache),
        "--no-default-config",
        "--out",
        str(tmp_path / "o"),
    )
    assert proc.returncode == 2 and "784-7-5 does not fit the task (784 inputs, 10 outputs)" in proc.stderr
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    payload["format_version"] = 2
    torch.save(payload, tmp_path / "new.pt")
    proc = bdnn_cli(
        "transfer",
        "--seed",
        "0",
        "--model",
        str(tmp_path / "new.pt"),
        "--cache",
        str(mnist_cache),
        "--no-default-config",
        "--out",
        str(tmp_path / "o"),
    )
    assert proc.returncode == 2 and "format 2 is newer" in proc.stderr
    assert not (tmp_path / "o").exists()


def _lock() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_environment_yml_agrees_with_the_lock_and_pyproject():
    import tomllib

    lock = _lock()
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pinned = [p for p in pip if "==" in p]
    assert pinned, "environment.yml pins nothing"
    for item in pinned:
        name, version = item.split("==")
        assert lock.get(name.lower().replace("_", "-")) == version, f"{item} disagrees with requirements.lock"
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = [
        re.split(r"[=<>\[ ]", d)[0].lower()
        for d in deps["dependencies"] + deps["optional-dependencies"]["pipeline"] + deps["optional-dependencies"]["test"]
    ]
    env_names = {p.split("==")[0].lower() for p in pinned}
    for n in names:
        assert n in lock, f"{n} is not pinned in requirements.lock"
        assert n in env_names, f"{n} is missing from environment.yml"
    assert lock["torch"] == "2.13.0"
    assert "python=3.11" in env["dependencies"]


def test_installed_versions_are_the_locked_ones():
    from importlib.metadata import version

    lock = _lock()
    for name in ("numpy", "pandas", "mlflow", "snakemake", "matplotlib", "jsonschema"):
        assert version(name) == lock[name]
    assert version("torch").split("+")[0] == lock["torch"]


def test_figures_readme_is_rewritten_only_when_a_figure_changes(tmp_path):
    from bdnn.pipeline.outputs import provenance
    from bdnn.report.figures_readme import FiguresRecord, paper_figure_texts, record_figures

    figs = [tmp_path / "fig3.png", tmp_path / "fig3.pdf"]
    for f in figs:
        f.write_bytes(b"figure " + f.name.encode())
    record = FiguresRecord(
        "Figures", "`bdnn figures`", "`make reproduce`", "`results/claims.md`", paper_figure_texts(10, 5, "digits 0-4", "digits 5-9")
    )
    assert record_figures(tmp_path, figs, record, provenance) == [tmp_path / "README.md"]
    text = (tmp_path / "README.md").read_text()
    assert "- `fig3.png`: sha256 " in text and "commit" in text
    mtime = (tmp_path / "README.md").stat().st_mtime_ns
    assert record_figures(tmp_path, figs, record, provenance) == [] and (tmp_path / "README.md").stat().st_mtime_ns == mtime  # same bytes
    figs[1].write_bytes(b"another figure")
    assert record_figures(tmp_path, figs, record, provenance) == [tmp_path / "README.md"]


def test_captions_and_claims_wording_come_from_the_config():
    """The default config's generated captions equal the strings they replaced; another config's
    name its own classes."""
    from bdnn.pipeline.outputs import wording
    from bdnn.report.claims_text import claim_text
    from bdnn.report.figures_readme import paper_figure_texts

    cfg = load_config(REPO / "config" / "config.yaml")
    w = wording(cfg)
    assert (w.dataset, w.task_from, w.task_to) == ("MNIST", "digits 0-4", "digits 5-9")
    texts = paper_figure_texts(10, 5, w.task_from, w.task_to)
    assert texts["fig3"].startswith("A, S, E, F against the remaining hidden neurons (10 classes, log scale)")
    assert "10 vs 5 classes" in texts["fig4"]
    assert texts["task_transfer"] == (
        "beyond the paper: the networks of digits 0-4 (developed, accuracy-matched un-pruned, and a fresh "
        "one of the developed size) with a new output layer learning digits 5-9, and the paired differences"
    )
    assert claim_text(cfg)["claim3"] == "The 5-class network ends smaller than the 10-class one at every sample count, or all but one"
    other = validate_config({"classes": {"odd": [1, 3, 5], "pair": [2, 7]}, "samples": [600], "transfer": {"classes": "odd", "samples": 600, "new_samples": [600]},
                             "task_transfer": {"from": "pair", "to": [0, 4, 6, 8], "new_samples": [400]}})  # fmt: skip
    w = wording(other)
    assert (w.task_from, w.task_to) == ("digits 2, 7", "digits 0, 4, 6, 8")
    assert claim_text(other)["claim1"].endswith("of the 3-class runs)") and "The 2-class network" in claim_text(other)["claim3"]
    # garments are named, never digits, and a criterion other than Eq. 1 is named in every title
    w = wording(load_config(REPO / "config" / "config.yaml", sets=["dataset=fashion-mnist", "prune.criterion=taylor"]))
    assert (w.dataset, w.task_from, w.task_to) == (
        "Fashion-MNIST", "garments T-shirt/top, Trouser, Pullover, Dress, Coat", "garments Sandal, Shirt, Sneaker, Bag, Ankle boot"
    )  # fmt: skip
    assert w.method == "BDNN-sp with taylor pruning" and w.suffix == " (BDNN-sp with taylor pruning on Fashion-MNIST)"
    assert (wording(cfg).method, wording(cfg).suffix) == ("BDNN-sp", "")


def test_typed_settings_are_built_from_the_schemas_defaults():
    """Every field of the method's settings comes from the validated config (no defaults of their
    own): the schema's defaults give the default settings."""
    import dataclasses

    from bdnn.method.names import MEAN_WEIGHT_MODES, STABILITY_MODES
    from bdnn.pipeline.config import schema_enum
    from bdnn.pipeline.settings import develop_settings, transfer_settings

    cfg = validate_config({})
    s = develop_settings(cfg)
    assert (s.network.hidden_init, s.network.init, s.training.lr, s.training.batch_size) == (1000, "default", 0.2, 10)
    assert (s.training.initial_epochs, s.training.retrain_epochs, s.training.equal_steps, s.training.trained_start) == (4, 1, None, None)
    assert dataclasses.asdict(s.prune) == {k: cfg["prune"][k] for k in ("schedule", "fraction", "count", "min_hidden", "patience")}
    assert dataclasses.asdict(s.fitness) == {k: cfg["fitness"][k] for k in ("alpha", "beta", "gamma", "stability", "mean_weight")}
    assert dataclasses.asdict(transfer_settings(cfg)) == {"epochs": 5, "max_epochs": 50, "records": 48, "log_every": None}
    ts = develop_settings(validate_config({"trained_start": {}})).training.trained_start
    assert (ts.patience, ts.max_epochs, ts.min_steps) == (3, 50, 0)
    for cls in (type(s), type(s.network), type(s.training), type(s.prune), type(s.fitness), type(ts)):
        assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(cls)), cls  # no defaults beside the schema's
    assert schema_enum("fitness", "stability") == STABILITY_MODES and schema_enum("fitness", "mean_weight") == MEAN_WEIGHT_MODES


def test_settings_keys_are_pinned():
    """Today's keys of the committed configs: a change here moves every result folder."""
    cfg, test = load_config(REPO / "config" / "config.yaml"), load_config(REPO / "config" / "test.yaml")
    assert (settings_key(cfg), settings_key(cfg, "transfer"), settings_key(cfg, "transfer", "task_transfer")) == (
        "972b89271d",
        "5a5be9051a",
        "ab1520c8ea",
    )
    assert (settings_key(test), settings_key(test, "transfer"), settings_key(test, "transfer", "task_transfer")) == (
        "2b503fa7be",
        "dc81df7285",
        "9ccbe09fbb",
    )
    study = load_config(REPO / "config" / "config.yaml", REPO / "config" / "study.yaml")
    assert settings_key(study, "study") == "c3aff4b3fb"  # since study.seeds


def test_the_default_jobs_config_files_are_pinned():
    """The digests of the config files the default sweep's jobs read (results/configs/<digest>.yaml):
    a new key must not change them (dataset and prune.criterion are left out at their defaults),
    or every job of an existing results folder would run again."""
    from bdnn.pipeline.layout import config_digest
    from bdnn.pipeline.views import develop_view, tracking_view, transfer_view

    cfg = load_config(REPO / "config" / "config.yaml")
    views = [develop_view(cfg, "0-9"), develop_view(cfg, "0-4"), transfer_view(cfg, "transfer"), transfer_view(cfg, "task_transfer")]
    views += [tracking_view(cfg), tracking_view(cfg, parent=True)]
    digests = [config_digest(yaml.safe_dump(v, sort_keys=True)) for v in views]
    assert digests == [
        "f0b18351ab27b753",
        "2e059f93fd6ba295",
        "963793c18941c044",
        "38808fa852e9b2aa",
        "379b35374cdfbc71",
        "a3df16a3ec89e3ac",
    ]


def test_a_code_version_moves_the_keys_of_its_part_only(monkeypatch):
    """A code change that alters a result bumps its part in CODE_VERSIONS: its jobs get new keys,
    the other parts' keys stay (the transfer code is at version 2: the record schedule)."""
    import bdnn.pipeline.keys as keys

    cfg = load_config(REPO / "config" / "config.yaml")
    before = (settings_key(cfg), settings_key(cfg, "transfer"))
    assert keys.settings(cfg, "transfer")["code_version"] == {"transfer": 2} and "code_version" not in keys.settings(cfg)
    monkeypatch.setitem(keys.CODE_VERSIONS, "transfer", 3)
    assert settings_key(cfg) == before[0] and settings_key(cfg, "transfer") != before[1]
    monkeypatch.setitem(keys.CODE_VERSIONS, "method", 2)
    assert settings_key(cfg) != before[0]


def test_a_command_that_needs_the_pipeline_extra_says_which_to_install(tmp_path):
    """Without mlflow (here: a module that raises on import), `bdnn track` stops in one line naming
    the extra; the compute commands never import it."""
    poison = tmp_path / "poison"
    (poison / "mlflow").mkdir(parents=True)
    (poison / "mlflow" / "__init__.py").write_text("raise ImportError('no mlflow here')\n")
    env = {**env_with_venv(), "PYTHONPATH": str(poison)}
    proc = bdnn_cli("track", "init", "--no-default-config", "--out", str(tmp_path / "t.json"), cwd=tmp_path, env=env)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "pip install 'bdnn[pipeline]'" in lines[0], proc.stderr
    assert not (tmp_path / "t.json").exists() and not (tmp_path / "results").exists()
    proc = bdnn_cli("validate", "--no-default-config", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr


def test_a_jobs_config_view_changes_only_with_what_its_result_depends_on():
    """The workflow names each job's config file by its view's content: a seed, a sample count, a
    class subset, the transfer block or the tracking store leave a develop job's view unchanged;
    its method settings and its subset's classes change it. Each view is a valid job config."""
    from bdnn.pipeline.views import develop_view, tracking_view, transfer_view

    cfg = load_config(REPO / "config" / "config.yaml")
    view = develop_view(cfg, "0-4")
    for change in ({"seeds": [0, 9]}, {"samples": [600, 1200]}, {"classes": {**cfg["classes"], "rest": [1, 3, 5, 6, 7, 8]}},
                   {"transfer": {**cfg["transfer"], "epochs": 2}}, {"mlflow": {"experiment": "other"}}, {"task_transfer": None}):  # fmt: skip
        assert develop_view(validate_config({**cfg, **change}), "0-4") == view, change
    assert develop_view(validate_config({**cfg, "lr": 0.3}), "0-4") != view
    assert (
        develop_view(validate_config({**cfg, "classes": {**cfg["classes"], "0-4": [0, 1, 2, 3, 5]}, "task_transfer": None}), "0-4") != view
    )
    main = transfer_view(cfg, "transfer")
    assert transfer_view(validate_config({**cfg, "task_transfer": None}), "transfer") == main  # not its experiment
    assert transfer_view(validate_config({**cfg, "transfer": {**cfg["transfer"], "epochs": 2}}), "transfer") != main
    assert tracking_view(validate_config({**cfg, "lr": 0.3})) == tracking_view(cfg)
    for v in (view, main, transfer_view(cfg, "task_transfer"), tracking_view(cfg), tracking_view(cfg, parent=True)):
        job = validate_config(v, lists=False, transfer="transfer" in v)
        assert settings_key(job) == settings_key(cfg) or "hidden_init" not in v
    assert settings_key(validate_config(main, lists=False), "transfer") == settings_key(cfg, "transfer")
