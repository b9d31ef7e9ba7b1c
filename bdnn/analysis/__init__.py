"""Statistics and verdicts: the uncertainty over seeds, the claims' verdicts, the study's analysis (pandas and numpy; no plotting, no files)."""
