"""The pipeline: config and its schema, settings keys, the results layout, checkpoints, what one command does (jobs), aggregation, the outputs and the study's files, provenance."""
