"""Benchmark suite of the BDNN-sp reproduction: `make bench` (or `python -m benchmarks`).

throughput: the library's hand-written SGD epoch vs autograd + torch.optim.SGD;
develop: a whole develop() run, physical removal vs masking (benchmarks/masked.py);
efficiency: an epoch vs the same FLOPs as full-batch torch.mm (this machine's sgemm);
sweep: time and peak memory of a real run, from its Snakemake benchmark files;
cuda: a develop() run on CUDA, where there is a device. See README.md.
"""
