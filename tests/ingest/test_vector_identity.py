"""Indexing real files gives the vectors recorded before the restructure (tests/fixtures/reference_vectors.npz):
on eager torch to within one step of the catalog's float16 storage (log-mels and heads are computed in numpy
since, whose rounding may flip the last stored bit), and to cosine 0.9999 with the towers on ONNX Runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.fixtures.reference_vectors import REFERENCE, indexed_vectors


def test_indexed_and_query_vectors_match_the_reference(data_dir: Path) -> None:
    reference = dict(np.load(REFERENCE))
    vectors = indexed_vectors(data_dir, runtime="torch")
    assert sorted(vectors) == sorted(reference)
    for key, expected in reference.items():
        np.testing.assert_allclose(vectors[key], expected, rtol=2**-10, atol=1e-6, err_msg=key)


def test_onnx_runtime_index_matches_the_reference(data_dir: Path) -> None:
    reference = dict(np.load(REFERENCE))
    vectors = indexed_vectors(data_dir, runtime="onnx")
    assert sorted(vectors) == sorted(reference)
    cosines = {key: float(vectors[key] @ expected) for key, expected in reference.items()}
    assert min(cosines.values()) >= 0.9999, cosines
