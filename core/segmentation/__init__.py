"""Semantic segmentation with U-Net (course week 3, "Semantic segmentation with U-Net"):
the network and its shape table (``unet``), the transposed convolution step by step
(``transposed``), per-pixel metrics (``metrics``), training as a generator
(``training``), and pretrained torchvision segmenters on photos (``pretrained``). Paper:
Ronneberger, Fischer & Brox 2015, "U-Net: Convolutional Networks for Biomedical Image
Segmentation". The names below are the package's interface.
"""

from core.segmentation.metrics import SegmentationScores, confusion_matrix, load_mask, segmentation_scores
from core.segmentation.pretrained import SEMANTIC_SEGMENTATION, SemanticResult, segment_with_torchvision
from core.segmentation.training import (
    Progress,
    TrainingConfig,
    TrainingData,
    TrainingJob,
    as_input,
    evaluate,
    new_model,
    segmentation_loss,
    train,
    training_memory,
    validation_samples,
)
from core.segmentation.transposed import (
    Placement,
    TransposedConvolution,
    conv_transpose2d_reference,
    transposed_convolution,
)
from core.segmentation.unet import (
    UNET_LABELS,
    Padding,
    Stage,
    UNet,
    check_input_size,
    checkpoint_manifest,
    load_checkpoint,
    minimum_valid_input,
    predict_labels,
    save_checkpoint,
    shape_table,
    skip_connections,
    u_levels,
)

__all__ = [
    "Padding",
    "Placement",
    "Progress",
    "SegmentationScores",
    "SemanticResult",
    "Stage",
    "TrainingConfig",
    "TrainingData",
    "TrainingJob",
    "as_input",
    "training_memory",
    "validation_samples",
    "TransposedConvolution",
    "UNet",
    "check_input_size",
    "checkpoint_manifest",
    "confusion_matrix",
    "conv_transpose2d_reference",
    "evaluate",
    "load_checkpoint",
    "load_mask",
    "minimum_valid_input",
    "new_model",
    "predict_labels",
    "UNET_LABELS",
    "save_checkpoint",
    "segment_with_torchvision",
    "SEMANTIC_SEGMENTATION",
    "segmentation_loss",
    "segmentation_scores",
    "shape_table",
    "skip_connections",
    "u_levels",
    "train",
    "transposed_convolution",
]
