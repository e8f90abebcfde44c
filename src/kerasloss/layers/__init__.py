"""Layers for the losses that are not a function of (y_true, y_pred) alone.

They own what the loss needs (class centres, class kernels, a fitted threshold) or add
their loss from intermediate tensors with `add_loss`.

- `center`: `CenterLoss`, which owns the class centres and moves them.
- `margin`: the margin-softmax heads `ArcFace`, `CosFace` and `SphereFace`.
- `triplet`: `TripletMarginLossLayer`, the loss of explicit triplets via `add_loss`.
- `memory`: `CrossBatchMemory`, a pair loss against a memory of past batches (XBM).
- `threshold`: `LinearThreshold`, BP-MLL's learned threshold as a layer.
- `two_tower`: `CLIPLoss` and `SigLIPLoss`, which own a learned temperature (and bias).
- `proxy`: `ProxyAnchor` and `ProxyNCA`, which own one proxy per class and add the loss.
- `subcenter`: `SubCenterArcFace`, ArcFace with several sub-centres per class.
"""

from kerasloss._internal.aliases import moved
from kerasloss.layers.center import CenterLoss
from kerasloss.layers.margin import ArcFace, CosFace, SphereFace
from kerasloss.layers.memory import CrossBatchMemory
from kerasloss.layers.proxy import ProxyAnchor, ProxyNCA
from kerasloss.layers.subcenter import SubCenterArcFace
from kerasloss.layers.threshold import LinearThreshold
from kerasloss.layers.triplet import TripletMarginLossLayer
from kerasloss.layers.two_tower import CLIPLoss, SigLIPLoss

__all__ = [
    "ArcFace",
    "CLIPLoss",
    "CenterLoss",
    "CosFace",
    "CrossBatchMemory",
    "LinearThreshold",
    "SigLIPLoss",
    "SphereFace",
    "TripletMarginLossLayer",
    # proxy losses and sub-center ArcFace
    "ProxyAnchor",
    "ProxyNCA",
    "SubCenterArcFace",
]

# `OutputMean` is a metric; it was exported from here before kerasloss 0.2.
__getattr__ = moved(__name__, {"OutputMean": "kerasloss.metrics:OutputMean"})
