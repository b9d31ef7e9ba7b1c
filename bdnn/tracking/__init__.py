"""The MLflow adapter: logs finished result folders; the result files stay the source of truth.

A run is found by a deterministic key before one is created, so a rerun never duplicates it; an
unfinished run left by a crash is deleted and logged again. A tracking failure never touches the
results: the workflow's tracking rules are separate jobs that can be completed later by
rerunning. Only this package imports mlflow (the pipeline extra).
"""
