"""Index choice by collection size, training sizes, and search parameters of composed indexes."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from indexes.choose import (
    COMPRESS_BYTES,
    EXACT_LIMIT,
    choose_index_type,
    ivf_lists,
    min_train_size,
    train_sample_size,
)
from indexes.faiss_store import FaissStore
from indexes.sync import desired_index_type


def _vectors(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_tiers_by_size() -> None:
    assert choose_index_type(EXACT_LIMIT, 384) == "Flat"
    assert choose_index_type(EXACT_LIMIT + 1, 384) == f"IVF{ivf_lists(EXACT_LIMIT + 1)},Flat"
    assert choose_index_type(1_000_000, 384) == "IVF2048,Flat"
    big = COMPRESS_BYTES // (384 * 4) + 1
    assert choose_index_type(big, 384) == f"IVF{ivf_lists(big)},PQ96x4fs,Refine(SQfp16)"


def test_list_count_grows_like_sqrt_n() -> None:
    assert ivf_lists(100_000) == 512 and ivf_lists(1_000_000) == 2048 and ivf_lists(10_000_000) == 8192
    assert ivf_lists(10) == 256
    sizes = [10**k for k in range(3, 10)]
    assert all(a <= b for a, b in zip(map(ivf_lists, sizes), map(ivf_lists, sizes[1:])))


@pytest.mark.parametrize("n,dim", [(10**6, 384), (10**8, 384), (10**8, 100), (10**8, 7), (10**8, 512)])
def test_chosen_strings_are_valid_factories(n: int, dim: int) -> None:
    index = faiss.index_factory(dim, choose_index_type(n, dim), faiss.METRIC_INNER_PRODUCT)
    assert index.d == dim


def test_train_sizes() -> None:
    assert min_train_size("Flat") == min_train_size("HNSW32") == 0
    assert min_train_size("IVF1024,Flat") == 30 * 1024
    assert min_train_size("OPQ16_64,IVF256_HNSW32,PQ16") == 30 * 256
    assert min_train_size("PQ32") == 256 and min_train_size("PQ32x4fs") == 16
    assert train_sample_size("IVF4096,Flat", 10**7) == 64 * 4096
    assert train_sample_size("IVF256,Flat", 10**7) == 65_536
    assert train_sample_size("IVF4096,Flat", 50_000) == 50_000


def test_user_type_falls_back_to_flat_until_trainable() -> None:
    assert desired_index_type("IVF1024,Flat", 1000, 16) == "Flat"
    assert desired_index_type("IVF1024,Flat", 40_000, 16) == "IVF1024,Flat"
    assert desired_index_type("HNSW32", 5, 16) == "HNSW32"
    assert desired_index_type("auto", 5, 16) == "Flat"


@pytest.mark.parametrize(
    "index_type", ["IVF16,PQ4x4fs,Refine(SQfp16)", "PCA16,IVF16,PQ4x4fs,Refine(SQfp16)", "HNSW16", "IVF16,Flat"]
)
def test_composed_indexes_search_and_filter(index_type: str) -> None:
    vectors = _vectors(3000)
    ids = np.arange(10, 3010) * 7
    store = FaissStore.build(index_type, ids, vectors, generation=0)
    _, found = store.search(vectors[:20], 5, nprobe=16)
    assert (found[:, 0] == ids[:20]).mean() >= 0.95  # exact re-rank puts each vector first
    allowed = ids[::3]
    _, only = store.search(vectors[:20], 5, allowed_ids=allowed, nprobe=16)
    assert np.isin(only[only >= 0], allowed).all() and (only >= 0).sum() > 50


def test_single_query_restores_thread_count() -> None:
    store = FaissStore.build("Flat", np.arange(50), _vectors(50), generation=0)
    before = faiss.omp_get_max_threads()
    _, found = store.search(_vectors(50)[:1], 1)
    assert found[0, 0] == 0 and faiss.omp_get_max_threads() == before
