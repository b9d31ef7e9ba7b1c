"""BDNN-sp: a brain-inspired developmental neural network by adaptive synaptic pruning.

Reference implementation of Zhao, Zhang, Zeng and Xu (BDNN-sp) with the choices fixed in
docs/method.md. The layers (docs/architecture.md; `make lint` enforces them): `bdnn.method` (the
method on tensors), `bdnn.data`, `bdnn.analysis`, `bdnn.report`, `bdnn.pipeline`, and on top
`bdnn.tracking` (the MLflow adapter) and `bdnn.cli`.
"""

__version__ = "0.1.0"


class BDNNError(Exception):
    """An error a user can act on: printed as one line by the CLI, never as a traceback."""
