"""Contrastive losses over image/text vector batches."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ClipLoss(nn.Module):
    """Symmetric multi-positive InfoNCE (CLIP/UniCL style).

    Image i and text j are positives when their group ids are equal, so an image's other
    captions (or another image of the same class) are never used as negatives. Each row's
    target is uniform over its positives; with `any_positive` a row instead maximises the
    softmax mass on its positives together (-log of their summed probability), so any one
    of them may take it all.
    """

    def __init__(self, any_positive: bool = False) -> None:
        super().__init__()
        self.any_positive = any_positive

    def forward(
        self,
        image_vectors: torch.Tensor,
        text_vectors: torch.Tensor,
        logit_scale: torch.Tensor,
        image_groups: torch.Tensor,
        text_groups: torch.Tensor,
    ) -> torch.Tensor:
        logits = logit_scale * image_vectors @ text_vectors.T
        positive = image_groups[:, None] == text_groups[None, :]
        row_loss = _positive_mass_loss if self.any_positive else _soft_cross_entropy
        return (row_loss(logits, positive) + row_loss(logits.T, positive.T)) / 2


def _soft_cross_entropy(logits: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """Mean over rows with positives of the cross entropy against a uniform target on them."""
    has_positive = positive.any(dim=1)
    target = positive[has_positive].float()
    target = target / target.sum(dim=1, keepdim=True)
    return -(target * F.log_softmax(logits[has_positive], dim=1)).sum(dim=1).mean()


def _positive_mass_loss(logits: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """Mean over rows of -log(softmax mass on the row's positives); every row needs one."""
    positive_logits = logits.masked_fill(~positive, float("-inf"))
    return (torch.logsumexp(logits, dim=1) - torch.logsumexp(positive_logits, dim=1)).mean()


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """KL(teacher || student) of two class distributions given as logits (learning without forgetting)."""
    student, teacher = F.log_softmax(student_logits, dim=1), F.log_softmax(teacher_logits, dim=1)
    return F.kl_div(student, teacher, log_target=True, reduction="batchmean")
