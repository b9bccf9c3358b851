"""Transcript evidence for zero-shot classification of speech: how well what was said matches each label.

Each clip is transcribed (in English when the labels are English) with the labels as hot words (the
decoder leans towards words that may be said); the transcript's normalised text and each normalised label
go through the text tower, and a softmax over their cosine similarities (the model's logit scale) is the
evidence, multiplied with the acoustic probabilities by the classifier (a product of experts). A clip with
no speech gives no evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from retrieval.speech.models import DEFAULT_SPEECH_MODEL
from retrieval.speech.normalize import search_text
from retrieval.speech.transcriber import SpeechOptions, transcriber

if TYPE_CHECKING:
    from retrieval.encoders.base import Encoder


def evidence_options(labels: Sequence[str], model: str = DEFAULT_SPEECH_MODEL) -> SpeechOptions:
    """Transcribe in English when the labels are English (the transcript is matched against them, and a
    fixed language lets short clips share decoding batches); else detect each clip's language."""
    from retrieval.encoders.language import ENGLISH, detect_language

    return SpeechOptions(model=model, language=ENGLISH if detect_language(" ".join(labels)) == ENGLISH else None)


def transcript_evidence(
    encoder: "Encoder", clips: Sequence[np.ndarray], labels: Sequence[str], options: SpeechOptions
) -> list[np.ndarray | None]:
    """Per 16 kHz clip: (C,) label probabilities from its transcript, or None when nothing was said."""
    from retrieval.query.zeroshot import probabilities

    heard = transcriber(options).transcribe_many(clips, hotwords=" ".join(labels))
    texts = [search_text(" ".join(s.text for s in segments)) for segments in heard]
    spoken = [n for n, text in enumerate(texts) if text]
    out: list[np.ndarray | None] = [None] * len(clips)
    if not spoken:
        return out
    label_vectors = encoder.encode_texts([search_text(label) or label for label in labels])
    probs = probabilities(encoder.encode_texts([texts[n] for n in spoken]), label_vectors, encoder.logit_scale)
    for n, row in zip(spoken, probs):
        out[n] = row
    return out


def speech_evidence(encoder: "Encoder", clips: dict[int, object], labels: Sequence[str]) -> dict[int, np.ndarray]:
    """`transcript_evidence` of audio inputs (paths, or arrays at the encoder's audio rate) keyed as given;
    empty without the speech extra or a text tower."""
    from retrieval.errors import MissingDependencyError
    from retrieval.media.audio import load_audio, resample
    from retrieval.speech.models import require_faster_whisper
    from retrieval.speech.transcriber import SAMPLE_RATE

    try:
        require_faster_whisper()
    except MissingDependencyError:
        return {}
    if not clips or not encoder.supports("text"):
        return {}
    waves = [
        resample(item, encoder.audio_sample_rate, SAMPLE_RATE)
        if isinstance(item, np.ndarray)
        else load_audio(str(item), SAMPLE_RATE)
        for item in clips.values()
    ]
    found = transcript_evidence(encoder, waves, labels, evidence_options(labels))
    return {n: row for n, row in zip(clips, found) if row is not None}
