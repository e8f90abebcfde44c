"""kerasloss' private building blocks: nothing in this package is public API.

One module per concern, each used by the public packages (`losses`, `layers`,
`metrics`, `callbacks`, `thresholds`) and never importing them:

- `checks`: argument and label checks with messages that name the argument.
- `dtypes`: facts about float dtypes and the precision policy (what a loss computes in).
- `distances`: distances between embeddings, with finite gradients everywhere.
- `masking`: reductions over masked entries (max, min, log-sum-exp, argmax, cumsum).
- `mining`: the triplet mining strategies, each a function of a distance matrix.
- `centers`: the center-loss pieces shared by the function and the layer.
- `base`: `PerSampleLoss`, the `keras.losses.Loss` around a per-sample function.
- `registration`: the one `register` decorator.
- `aliases`: old import paths that keep working with a `DeprecationWarning`.
"""
