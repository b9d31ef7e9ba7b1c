rule config:
    """A validated config the jobs read, named by the digest of its content (never rewritten: a run
    with other settings writes another file). Parsing the workflow writes nothing; this rule does."""
    output:
        f"{R}/configs/{{digest}}.yaml",
    log:
        layout.log_file(R, "configs/{digest}"),
    run:
        write_text(output[0], CONFIG_TEXT[output[0]])
        write_text(log[0], f"wrote {output[0]}\n")
