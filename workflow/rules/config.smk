rule config:
    """A config a job reads, named by the digest of its content (never rewritten: a run with other
    settings writes another file). Parsing the workflow writes nothing; this rule does (a shell
    printf: a `run:` directive would start Python and parse the workflow again)."""
    output:
        f"{R}/configs/{{digest}}.yaml",
    log:
        layout.log_file(R, "configs/{digest}"),
    conda:
        "../../environment.yml"
    params:
        text=lambda w, output: registered_config(output[0]),
    shell:
        "printf '%s' {params.text:q} > {output}.tmp && mv {output}.tmp {output} && echo wrote {output} > {log}"
