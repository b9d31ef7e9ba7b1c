rule config:
    """A config a job reads, named by the digest of its content (never rewritten: a run with other
    settings writes another file). Parsing the workflow writes nothing; this rule does."""
    output:
        f"{R}/configs/{{digest}}.yaml",
    log:
        layout.log_file(R, "configs/{digest}"),
    run:
        write_config(output[0], log[0])
