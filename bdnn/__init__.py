"""BDNN-sp: a brain-inspired developmental neural network by adaptive synaptic pruning.

Reference implementation of Zhao, Zhang, Zeng and Xu (BDNN-sp) with the choices fixed in
docs/method.md. The core (data, model, pruning, fitness, develop, transfer) imports neither
Snakemake nor MLflow; `bdnn.tracking` is the MLflow adapter.
"""

__version__ = "0.1.0"


class BDNNError(Exception):
    """An error a user can act on: printed as one line by the CLI, never as a traceback."""
