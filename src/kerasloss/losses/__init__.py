"""Loss functions (per-sample values) and their `keras.losses.Loss` classes, by family.

- `classification`: cost-sensitive and label-smoothed cross-entropy.
- `focal`: focal losses, binary, categorical and sparse categorical.
- `combined`: a weighted sum of losses.
- `multilabel`: the BP-MLL ranking loss and the asymmetric loss (ASL).
- `poly`: Poly-1 cross-entropy.
- `metric_learning`: triplet losses, on explicit triplets and mined from a batch.
- `two_tower`: CLIP's and SigLIP's losses of paired embeddings.
- `center`: the center loss (its centres live on `kerasloss.layers.CenterLoss`).
- `regression`: the pinball (quantile) loss.
- `ordinal`: the weighted kappa loss.
- `sparse`: the cost-sensitive and label-smoothed cross-entropies of integer class ids.
- `sparsemax`: the sparsemax loss, from logits.
- `npairs`: N-pairs losses on a batch's similarity matrix.
- `pairs`: pair losses on labelled embeddings: contrastive, multi-similarity, lifted structure.
- `self_supervised`: NT-Xent (SimCLR) and SupCon, contrastive losses on cosine similarities.
- `proxy`: Proxy Anchor and Proxy-NCA (their proxies live on `kerasloss.layers`).
"""

from kerasloss._internal.aliases import moved
from kerasloss.losses.center import center_loss
from kerasloss.losses.classification import (
    CostSensitiveCrossentropy,
    LabelSmoothingCrossentropy,
    cost_sensitive_crossentropy,
    label_smoothing_crossentropy,
    pack_example_costs,
    unpack_example_costs,
)
from kerasloss.losses.combined import CombinedLoss
from kerasloss.losses.focal import (
    BinaryFocalLoss,
    CategoricalFocalLoss,
    SparseCategoricalFocalLoss,
    binary_focal_loss,
    categorical_focal_loss,
    sparse_categorical_focal_loss,
)
from kerasloss.losses.metric_learning import TripletLoss, triplet_loss, triplet_margin_loss
from kerasloss.losses.multilabel import (
    _MOVED_THRESHOLDS,
    AsymmetricLoss,
    BPMLLLoss,
    asymmetric_loss,
    bpmll_loss,
)
from kerasloss.losses.npairs import (
    NpairsLoss,
    NpairsMultilabelLoss,
    npairs_loss,
    npairs_multilabel_loss,
)
from kerasloss.losses.ordinal import WeightedKappaLoss, weighted_kappa_loss
from kerasloss.losses.pairs import (
    ContrastiveLoss,
    LiftedStructureLoss,
    MultiSimilarityLoss,
    contrastive_loss,
    lifted_structure_loss,
    multi_similarity_loss,
)
from kerasloss.losses.poly import Poly1Crossentropy, poly1_crossentropy
from kerasloss.losses.proxy import proxy_anchor_loss, proxy_nca_loss
from kerasloss.losses.regression import PinballLoss, pinball_loss
from kerasloss.losses.self_supervised import NTXentLoss, SupConLoss, nt_xent_loss, supcon_loss
from kerasloss.losses.sparse import (
    SparseCostSensitiveCrossentropy,
    SparseLabelSmoothingCrossentropy,
    sparse_cost_sensitive_crossentropy,
    sparse_label_smoothing_crossentropy,
)
from kerasloss.losses.sparsemax import SparsemaxLoss, sparsemax_loss
from kerasloss.losses.two_tower import clip_loss, siglip_loss

__all__ = [
    "AsymmetricLoss",
    "BPMLLLoss",
    "BinaryFocalLoss",
    "CombinedLoss",
    "CostSensitiveCrossentropy",
    "LabelSmoothingCrossentropy",
    "Poly1Crossentropy",
    "NTXentLoss",
    "SupConLoss",
    "TripletLoss",
    "asymmetric_loss",
    "binary_focal_loss",
    "bpmll_loss",
    "center_loss",
    "clip_loss",
    "cost_sensitive_crossentropy",
    "label_smoothing_crossentropy",
    "nt_xent_loss",
    "pack_example_costs",
    "siglip_loss",
    "poly1_crossentropy",
    "supcon_loss",
    "triplet_loss",
    "triplet_margin_loss",
    "unpack_example_costs",
    # regression and ordinal (TensorFlow Addons' pinball and weighted kappa losses)
    "PinballLoss",
    "WeightedKappaLoss",
    "pinball_loss",
    "weighted_kappa_loss",
    # sparse
    "SparseCostSensitiveCrossentropy",
    "SparseLabelSmoothingCrossentropy",
    "sparse_cost_sensitive_crossentropy",
    "sparse_label_smoothing_crossentropy",
    # Sparsemax and N-pairs losses.
    "NpairsLoss",
    "NpairsMultilabelLoss",
    "SparsemaxLoss",
    "npairs_loss",
    "npairs_multilabel_loss",
    "sparsemax_loss",
    # pair losses
    "ContrastiveLoss",
    "LiftedStructureLoss",
    "MultiSimilarityLoss",
    "contrastive_loss",
    "lifted_structure_loss",
    "multi_similarity_loss",
    # focal losses
    "CategoricalFocalLoss",
    "SparseCategoricalFocalLoss",
    "categorical_focal_loss",
    "sparse_categorical_focal_loss",
    # proxy losses
    "proxy_anchor_loss",
    "proxy_nca_loss",
]

# The threshold functions were exported from here before kerasloss 0.2.
__getattr__ = moved(__name__, _MOVED_THRESHOLDS)
