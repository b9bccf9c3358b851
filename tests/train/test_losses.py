"""ClipLoss: symmetric multi-positive InfoNCE (uniform targets, or the positives' summed mass)."""

import math

import torch
import torch.nn.functional as F

from retrieval.train.losses import ClipLoss, distillation_loss


def test_matches_standard_clip_loss_with_one_positive_each():
    torch.manual_seed(0)
    images, texts = F.normalize(torch.randn(6, 8), dim=1), F.normalize(torch.randn(6, 8), dim=1)
    groups = torch.arange(6)
    scale = torch.tensor(10.0)
    logits = scale * images @ texts.T
    expected = (F.cross_entropy(logits, groups) + F.cross_entropy(logits.T, groups)) / 2
    assert torch.allclose(ClipLoss()(images, texts, scale, groups, groups), expected)


def test_other_captions_of_an_image_are_not_negatives():
    image = torch.tensor([[1.0, 0.0]])
    texts = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # two captions of the same image
    scale = torch.tensor(5.0)
    loss = ClipLoss()(image, texts, scale, torch.tensor([0]), torch.tensor([0, 0]))
    # i2t: target 1/2 on each of two equal logits -> log 2; t2i: one image per text -> 0.
    assert math.isclose(float(loss), math.log(2) / 2, rel_tol=1e-6)


def test_aligned_batch_has_lower_loss_and_gradients_flow():
    torch.manual_seed(1)
    texts = F.normalize(torch.randn(8, 16), dim=1)
    groups = torch.tensor([0, 0, 1, 1, 2, 3, 4, 5])
    scale = torch.tensor(20.0, requires_grad=True)
    aligned = ClipLoss()(texts, texts, scale, groups, groups)
    random_images = F.normalize(torch.randn(8, 16), dim=1).requires_grad_(True)
    shuffled = ClipLoss()(random_images, texts, scale, groups, groups)
    assert aligned < shuffled
    shuffled.backward()
    assert random_images.grad is not None and scale.grad is not None


def test_any_positive_takes_the_log_of_the_positives_summed_probability():
    torch.manual_seed(3)
    audio, texts = F.normalize(torch.randn(4, 8), dim=1), F.normalize(torch.randn(4, 8), dim=1)
    groups, scale = torch.tensor([0, 0, 1, 2]), torch.tensor(5.0)  # clips 0 and 1 say the same words
    positive = groups[:, None] == groups[None, :]
    logits = scale * audio @ texts.T
    i2t = -torch.stack([F.softmax(logits[r], 0)[positive[r]].sum().log() for r in range(4)]).mean()
    t2i = -torch.stack([F.softmax(logits.T[r], 0)[positive[r]].sum().log() for r in range(4)]).mean()
    loss = ClipLoss(any_positive=True)(audio, texts, scale, groups, groups)
    assert torch.allclose(loss, (i2t + t2i) / 2)
    assert not torch.allclose(loss, ClipLoss()(audio, texts, scale, groups, groups))


def test_any_positive_equals_uniform_targets_with_one_positive_each():
    torch.manual_seed(2)
    audio, texts = F.normalize(torch.randn(6, 8), dim=1), F.normalize(torch.randn(6, 8), dim=1)
    groups, scale = torch.arange(6), torch.tensor(7.0)
    any_positive = ClipLoss(any_positive=True)(audio, texts, scale, groups, groups)
    assert torch.allclose(any_positive, ClipLoss()(audio, texts, scale, groups, groups))


def test_distillation_is_zero_for_equal_distributions():
    logits = torch.randn(4, 10)
    assert float(distillation_loss(logits, logits)) < 1e-6
    assert float(distillation_loss(logits, -logits)) > 0.1
