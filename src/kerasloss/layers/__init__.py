"""Layers that own weights a loss needs: margin-softmax class kernels."""

from kerasloss.layers.margin import ArcFace, CosFace, SphereFace

__all__ = ["ArcFace", "CosFace", "SphereFace"]
