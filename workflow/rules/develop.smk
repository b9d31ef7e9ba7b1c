rule develop:
    """One BDNN-sp developmental run (Algorithm 1) per class subset, sample count and seed."""
    input:
        cache=config["cache"],
    output:
        **develop_outputs("{classes}", "{samples}", "{seed}"),
    log:
        f"{R}/logs/develop/{{classes}}/{{samples}}/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/develop/{{classes}}/{{samples}}/seed{{seed}}.tsv"
    params:
        sweep=SWEEP,  # a change of the experiment config reruns the jobs (params trigger)
    threads: 1
    shell:
        "bdnn develop {CFG} --classes {wildcards.classes} --samples {wildcards.samples} --seed {wildcards.seed}"
        " --threads {threads} --out $(dirname {output.curve}) > {log} 2>&1"


rule transfer:
    """Pruned (F peak of the develop run) vs un-pruned network on unseen samples."""
    input:
        cache=config["cache"],
        model=lambda w: develop_outputs(config["transfer"]["classes"], config["transfer"]["samples"], w.seed)["model"],
    output:
        table=f"{R}/transfer/seed{{seed}}/transfer.csv",
        summary=f"{R}/transfer/seed{{seed}}/summary.json",
    log:
        f"{R}/logs/transfer/seed{{seed}}.log",
    benchmark:
        f"{R}/benchmarks/transfer/seed{{seed}}.tsv"
    params:
        sweep=SWEEP,
    threads: 1
    shell:
        "bdnn transfer {CFG} --seed {wildcards.seed} --model {input.model} --threads {threads}"
        " --out $(dirname {output.table}) > {log} 2>&1"
