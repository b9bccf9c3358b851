"""The phrase memory: short non-English queries borrow the MiniLM vectors of their nearest English phrases."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from retrieval.encoders import multilingual
from retrieval.encoders.minilm import encode_minilm
from retrieval.encoders.phrase_memory import MEMORY_FILE, PhraseMemory, is_short


@pytest.fixture(scope="module")
def tower() -> multilingual.MultilingualTower:
    return multilingual.multilingual_tower()


@pytest.mark.parametrize(
    ("text", "short"),
    [
        ("猫", True),
        ("perro", True),
        ("appareil photo", True),
        ("ブロントサウルス", True),
        ("billete de un dólar", False),
        ("一只黑色的猫正在睡觉", False),
        ("perro corriendo en la playa", False),
    ],
)
def test_is_short(text: str, short: bool) -> None:
    assert is_short(text) is short


@pytest.mark.parametrize("word", ["perro", "Hund", "chien", "犬", "狗"])
def test_a_word_finds_its_english_phrase(tower: multilingual.MultilingualTower, word: str) -> None:
    assert tower.memory is not None
    top, weights = tower.memory.neighbours(tower.encode_source([word]))
    best = [tower.memory.phrases[i] for i in top[0][np.argsort(-weights[0])][:3]]
    assert "dog" in best, best


def test_only_short_queries_blend(tower: multilingual.MultilingualTower) -> None:
    texts = ["perro corriendo en la playa", "perro"]
    source = tower.encode_source(texts)
    adapter_only = multilingual.adapt(tower.state, source)
    tower.glossary = None
    vectors = tower.encode(texts)
    assert np.array_equal(vectors[0], adapter_only[0])
    dog = encode_minilm(["dog"])[0]
    assert float(vectors[1] @ dog) > float(adapter_only[1] @ dog) + 0.05


def test_a_folder_without_memory_warns_and_uses_the_adapter(tmp_path: Path, caplog) -> None:
    folder = tmp_path / "multilingual"
    shutil.copytree(multilingual.MODEL_DIR, folder, ignore=shutil.ignore_patterns(MEMORY_FILE))
    with caplog.at_level(logging.WARNING):
        tower = multilingual.MultilingualTower(folder)
    assert tower.memory is None and "no phrase memory" in caplog.text
    tower.glossary = None
    expected = multilingual.adapt(tower.state, tower.encode_source(["perro"]))
    assert np.array_equal(tower.encode(["perro"]), expected)


def test_memory_round_trips_and_finds_each_key(tmp_path: Path) -> None:
    vectors = np.random.default_rng(0).standard_normal((300, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    phrases = [f"phrase {n}" for n in range(300)]
    PhraseMemory.build(phrases, vectors).save(tmp_path)
    memory = PhraseMemory.load(tmp_path)
    assert memory is not None and memory.keys.dtype == np.int8 and memory.phrases == phrases
    top, weights = memory.neighbours(vectors)
    assert (top[np.arange(300), weights.argmax(axis=1)] == np.arange(300)).all()
    assert np.allclose(weights.sum(axis=1), 1)
    top, _ = memory.neighbours(vectors[:3], ["PHRASE 0", "phrase 1 ", "phrase 2"])
    assert not any(n in row for n, row in enumerate(top))
