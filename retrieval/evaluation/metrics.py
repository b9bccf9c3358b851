"""Pure numpy retrieval and classification metrics (no models, no files)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_KS: tuple[int, ...] = (1, 5, 10)


def best_positive_ranks(similarity: np.ndarray, positives: Sequence[Sequence[int]]) -> np.ndarray:
    """0-based rank of each query's best-scoring positive among the candidates.

    `similarity` is (queries, candidates). The rank counts the non-positive candidates that
    score at least as high as the best positive (ties count against the query). Queries
    without positives get rank = number of candidates.
    """
    similarity = np.asarray(similarity, dtype=np.float64)
    n_queries, n_candidates = similarity.shape
    if len(positives) != n_queries:
        raise ValueError(f"{len(positives)} positive lists for {n_queries} queries")
    ranks = np.full(n_queries, n_candidates, dtype=np.int64)
    for q, pos in enumerate(positives):
        if len(pos) == 0:
            continue
        row = similarity[q]
        is_pos = np.zeros(n_candidates, dtype=bool)
        is_pos[list(pos)] = True
        best = row[is_pos].max()
        ranks[q] = int(np.count_nonzero((row >= best) & ~is_pos))
    return ranks


def recall_at_k(ranks: np.ndarray, ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    """{"R@k": fraction of queries whose best positive ranks below k}."""
    ranks = np.asarray(ranks)
    return {f"R@{k}": float(np.mean(ranks < k)) if len(ranks) else 0.0 for k in ks}


def text_to_image_recall(
    text_vectors: np.ndarray, image_vectors: np.ndarray, text_image: np.ndarray, ks: Sequence[int] = DEFAULT_KS
) -> dict[str, float]:
    """Recall@k of each text retrieving its image; `text_image[j]` is the image index of text j."""
    similarity = np.asarray(text_vectors) @ np.asarray(image_vectors).T
    return recall_at_k(best_positive_ranks(similarity, [[int(i)] for i in text_image]), ks)


def image_to_text_recall(
    text_vectors: np.ndarray, image_vectors: np.ndarray, text_image: np.ndarray, ks: Sequence[int] = DEFAULT_KS
) -> dict[str, float]:
    """Recall@k of each image retrieving any one of its texts."""
    image_texts: list[list[int]] = [[] for _ in range(len(image_vectors))]
    for j, i in enumerate(np.asarray(text_image).tolist()):
        image_texts[i].append(j)
    similarity = np.asarray(image_vectors) @ np.asarray(text_vectors).T
    return recall_at_k(best_positive_ranks(similarity, image_texts), ks)


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, ks: Sequence[int] = (1, 5)) -> dict[str, float]:
    """{"top{k}": fraction of rows whose true label index is among the k highest scores}."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    if len(labels) == 0:
        return {f"top{k}": 0.0 for k in ks}
    true = scores[np.arange(len(labels)), labels][:, None]
    above = np.sum(scores > true, axis=1)
    return {f"top{k}": float(np.mean(above < k)) for k in ks}
