"""Contrastive losses over image/text vector batches."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ClipLoss(nn.Module):
    """Symmetric multi-positive InfoNCE (CLIP/UniCL style).

    Image i and text j are positives when their group ids are equal, so an image's other
    captions (or another image of the same class) are never used as negatives. Each row's
    target is uniform over its positives.
    """

    def forward(
        self,
        image_vectors: torch.Tensor,
        text_vectors: torch.Tensor,
        logit_scale: torch.Tensor,
        image_groups: torch.Tensor,
        text_groups: torch.Tensor,
    ) -> torch.Tensor:
        logits = logit_scale * image_vectors @ text_vectors.T
        positive = (image_groups[:, None] == text_groups[None, :]).float()
        i2t = _soft_cross_entropy(logits, positive)
        t2i = _soft_cross_entropy(logits.T, positive.T)
        return (i2t + t2i) / 2


def _soft_cross_entropy(logits: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    has_positive = positive.sum(dim=1) > 0
    target = positive[has_positive] / positive[has_positive].sum(dim=1, keepdim=True)
    return -(target * F.log_softmax(logits[has_positive], dim=1)).sum(dim=1).mean()


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """KL(teacher || student) of two class distributions given as logits (learning without forgetting)."""
    return F.kl_div(
        F.log_softmax(student_logits, dim=1), F.log_softmax(teacher_logits, dim=1), log_target=True, reduction="batchmean"
    )
