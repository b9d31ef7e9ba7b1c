"""Benchmark suite of the BDNN-sp reproduction: `make bench` (or `python -m benchmarks`).

1. training throughput: the library's epoch vs a bare autograd + torch.optim.SGD loop;
2. a whole developmental run: physical removal vs masking (the same step; torch.nn.utils.prune);
3. the evaluation and fitness overhead of one pruning iteration;
4. the last full sweep: wall time and peak memory per job (Snakemake benchmark files);
5. CUDA, where available;
plus a cProfile of one developmental run. Results go to benchmarks/results.json; see README.md.
"""
