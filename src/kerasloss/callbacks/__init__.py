"""Callbacks: loss-weight schedules, and retrieval scores of held-out embeddings in fit's logs."""

from kerasloss.callbacks.retrieval import RetrievalEvaluation
from kerasloss.callbacks.schedule import LossWeightScheduler

__all__ = ["LossWeightScheduler", "RetrievalEvaluation"]
