"""Differentiable operations the losses build on, usable on their own.

- `sparsemax`: the Euclidean projection of scores onto the probability simplex
  (Martins & Astudillo 2016), a softmax whose outputs can be exactly zero.
"""

from kerasloss.ops.simplex import sparsemax

__all__ = ["sparsemax"]
