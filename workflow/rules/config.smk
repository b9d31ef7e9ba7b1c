rule config:
    """A validated config the jobs read, named by the digest of its content (never rewritten: a run
    with other settings writes another file). Parsing the workflow writes nothing; this rule does."""
    output:
        f"{R}/configs/{{digest}}.yaml",
    log:
        layout.log_file(R, "configs/{digest}"),
    run:
        if output[0] not in CONFIG_TEXT:
            raise WorkflowError(f"{output[0]}: no config of this workflow has this digest")
        write_text(output[0], CONFIG_TEXT[output[0]])
        write_text(log[0], f"wrote {output[0]}\n")
