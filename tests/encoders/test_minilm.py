"""Our plain-torch MiniLM gives the same vectors as sentence-transformers on the bundled weights."""

from __future__ import annotations

import numpy as np

from retrieval.encoders.minilm import encode_minilm, minilm_path


def test_matches_sentence_transformers() -> None:
    from sentence_transformers import SentenceTransformer

    texts = ["a black cat sleeping", "A child in a pink dress is climbing up a set of stairs .", "写真 " * 300, ""]
    ours = encode_minilm(texts)
    reference = SentenceTransformer(str(minilm_path()), device="cpu").encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(ours, reference, atol=1e-5)
    assert ours.shape == (4, 384) and ours.dtype == np.float32


def test_similar_texts_are_close() -> None:
    cat, kitten, plane = encode_minilm(["a cat", "a kitten", "an airplane"])
    assert cat @ kitten > cat @ plane + 0.3
