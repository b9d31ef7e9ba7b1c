"""The method's names that the rest of the project lists (file columns, workflow wildcards),
importable without torch: parsing the workflow must not import it."""

# The readings of S and E (the schema's fitness.stability and fitness.mean_weight enums; a test
# keeps them equal). Both are recorded at every iteration.
STABILITY_MODES = ("normalized", "raw")
MEAN_WEIGHT_MODES = ("per_connection", "printed")
# The networks of the transfer experiment: the developed one and its controls (docs/method.md).
NETWORKS = ("pruned", "unpruned", "unpruned_epochs", "scratch", "random")
CONTROLS = NETWORKS[1:]
# The networks of the transfer to another task; `scratch` there never saw the first task.
TASK_NETWORKS = ("pruned", "unpruned", "scratch")
# The pruning criteria (prune.criterion; bdnn.method.criteria.CRITERIA, a test keeps them equal):
# the paper's Eq. 1 first, the default.
CRITERIA = ("eq1", "random", "magnitude", "taylor", "activation")
# Each criterion in words (tables, captions, claims.md).
CRITERION_TEXT = {
    "eq1": "Eq. 1 (the paper's: incoming plus outgoing |weights|)",
    "random": "random order",
    "magnitude": "magnitude (L1 norm of the incoming weights)",
    "taylor": "first-order Taylor (Molchanov et al. 2017)",
    "activation": "activation variance",
}
