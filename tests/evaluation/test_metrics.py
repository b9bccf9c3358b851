"""Hand-worked recall@k and accuracy examples."""

import numpy as np
import pytest

from retrieval.evaluation.metrics import (
    best_positive_ranks,
    image_to_text_recall,
    recall_at_k,
    text_to_image_recall,
    topk_accuracy,
)


def test_best_positive_rank_counts_only_negatives_above():
    sim = np.array([[0.9, 0.8, 0.1], [0.2, 0.5, 0.7], [0.3, 0.3, 0.3]])
    # q0: positive 1 has 0.9 above it -> rank 1; q1: positives {0, 2}, best 0.7 -> rank 0;
    # q2: positive 2 ties with two negatives -> ties count against it -> rank 2.
    ranks = best_positive_ranks(sim, [[1], [0, 2], [2]])
    assert ranks.tolist() == [1, 0, 2]
    assert recall_at_k(ranks, ks=(1, 2, 3)) == {"R@1": pytest.approx(1 / 3), "R@2": pytest.approx(2 / 3), "R@3": 1.0}


def test_text_to_image_and_image_to_text_with_two_captions_per_image():
    images = np.eye(3, dtype=np.float32)
    # texts 0,1 -> image 0; text 2 -> image 1; text 3 -> image 2 but it points at image 0.
    texts = np.array([[1, 0, 0], [0.6, 0.8, 0], [0, 1, 0], [1, 0, 0]], dtype=np.float32)
    text_image = np.array([0, 0, 1, 2])
    t2i = text_to_image_recall(texts, images, text_image, ks=(1, 2))
    # ranks: t0 0, t1 1 (image 1 scores 0.8 > 0.6), t2 0, t3 2 (images 0 and 1 tie at >= 0)
    assert t2i == {"R@1": 0.5, "R@2": 0.75}
    i2t = image_to_text_recall(texts, images, text_image, ks=(1,))
    # image 0: own best 1.0, negative text 3 ties -> rank 1; image 1: rank 0; image 2: all tie at 0 -> rank 3
    assert i2t["R@1"] == pytest.approx(1 / 3)


def test_topk_accuracy():
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    labels = np.array([1, 1, 0])
    assert topk_accuracy(scores, labels, ks=(1, 2, 3)) == {
        "top1": pytest.approx(1 / 3),
        "top2": pytest.approx(2 / 3),
        "top3": 1.0,
    }
