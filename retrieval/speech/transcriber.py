"""16 kHz mono samples -> timed transcript segments, with Whisper (faster-whisper, int8 on CPU).

Voice activity detection (Silero, bundled with faster-whisper) finds the speech; speech regions are
merged into spans of at most 30 s (Whisper's window) and decoded in batches, greedy, each span on its
own (so one clip's words never leak into another's). Guards drop what Whisper invents on non-speech:
no VAD region -> nothing decoded; a segment with a high no-speech probability, a low average
log-probability, a high compression ratio or a run of repeated words is dropped.

Long recordings are processed in blocks of `BLOCK_S` seconds (a speech region running into a block's
end moves to the next block), so working memory stays bounded beyond the samples array itself.
Many short clips go through `transcribe_many`, which batches their spans into one call.
"""

from __future__ import annotations

import bisect
import functools
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.errors import MissingDependencyError
from retrieval.speech.models import DEFAULT_SPEECH_MODEL, require_faster_whisper, resolve_model

if TYPE_CHECKING:
    from faster_whisper import BatchedInferencePipeline

    from retrieval.types import IndexSettings

SAMPLE_RATE = 16_000
FRAMES_PER_S = 100
"""Whisper's feature frames per second (a decoded segment's `seek`)."""
WINDOW_S = 30.0
"""Whisper encodes 30 s at a time; a decoded span is never longer."""
BLOCK_S = 300.0
"""Seconds of a long recording run through VAD and decoding at a time."""
NO_SPEECH_MAX = 0.6
LOGPROB_MIN = -1.0
"""Whisper's own rule: a segment both likely silent (no-speech prob above NO_SPEECH_MAX) and unsure
(average log-prob below LOGPROB_MIN) is dropped."""
LOGPROB_FLOOR = -1.5
"""Any segment whose average log-probability is below this is dropped."""
COMPRESSION_MAX = 2.4
"""Text that gzip compresses more than this is a repetition loop."""
REPEAT_MAX = 4
"""A word (or word pair) repeated more than this many times in a row marks a repetition loop."""


@dataclass(frozen=True)
class Segment:
    """A stretch of speech: start and end in seconds from the start of the samples, text, language."""

    start_s: float
    end_s: float
    text: str
    language: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class SpeechOptions:
    """Which speech model, language (None: detected per file) and how many CPU threads and spans per batch."""

    model: str = DEFAULT_SPEECH_MODEL
    language: str | None = None
    threads: int = 0
    """CTranslate2 CPU threads; 0 uses all cores (at most 4)."""
    batch_size: int = 8


def transcribe(samples_16k_mono: np.ndarray, options: SpeechOptions = SpeechOptions()) -> list[Segment]:
    """Transcript segments of one recording (16 kHz mono float32), times from its first sample."""
    return list(transcriber(options).stream(samples_16k_mono))


def transcriber(options: SpeechOptions) -> "Transcriber":
    """The process-wide transcriber for `options` (each DataLoader worker loads its own model once);
    MissingDependencyError without the speech extra."""
    require_faster_whisper()
    return _loaded(options)


@functools.lru_cache(maxsize=2)
def _loaded(options: SpeechOptions) -> "Transcriber":
    return Transcriber(options)


class Transcriber:
    """A loaded Whisper model plus the VAD and guards around it (see the module docstring)."""

    def __init__(self, options: SpeechOptions) -> None:
        require_faster_whisper()
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        threads = options.threads or min(4, os.cpu_count() or 1)
        model = WhisperModel(str(resolve_model(options.model)), device="cpu", compute_type="int8", cpu_threads=threads)
        self.options = options
        self.multilingual = bool(model.model.is_multilingual)
        self.pipeline: BatchedInferencePipeline = BatchedInferencePipeline(model)

    def stream(self, samples: np.ndarray, hotwords: str | None = None) -> Iterator[Segment]:
        """Segments of one recording, block by block (the language is detected once, on the first speech);
        `hotwords` (words likely to be said) bias the decoder towards them."""
        samples = np.asarray(samples, dtype=np.float32)
        language = self.options.language
        block = round(BLOCK_S * SAMPLE_RATE)
        start = 0
        while start < len(samples):
            end = min(len(samples), start + block)
            regions = speech_regions(samples[start:end])
            if end < len(samples) and regions and regions[-1][0] > 0 and regions[-1][1] >= end - start - SAMPLE_RATE:
                cut = regions.pop()[0]  # speech running into the block's end: decode it with the next block
            else:
                cut = end - start
            if regions:
                spans = _spans(regions)
                segments = [s for _n, s in self._decode(samples[start:end], spans, language, hotwords)]
                language = language or (segments[0].language if segments else None)
                yield from (_shifted(s, start / SAMPLE_RATE) for s in segments)
            start += cut

    def transcribe_many(self, clips: Sequence[np.ndarray], hotwords: str | None = None) -> list[list[Segment]]:
        """Segments of each recording, times from its start. Clips of at most `WINDOW_S` share decoding
        batches; longer recordings, and every clip when a multilingual model must detect the language
        (detected once per call), go through `stream` one by one."""
        waves = [np.asarray(c, dtype=np.float32) for c in clips]
        alone = self.multilingual and self.options.language is None
        short = [n for n, w in enumerate(waves) if not alone and len(w) <= WINDOW_S * SAMPLE_RATE]
        out = [[] if n in short else list(self.stream(w, hotwords)) for n, w in enumerate(waves)]
        for n, segments in zip(short, self._short_clips([waves[n] for n in short], hotwords)):
            out[n] = segments
        return out

    def _short_clips(self, waves: list[np.ndarray], hotwords: str | None) -> list[list[Segment]]:
        """Clips of at most WINDOW_S, laid end to end and decoded in one call, each speech span on its own."""
        offsets = np.cumsum([0] + [len(w) for w in waves])
        spans, owners = [], []
        for n, wave in enumerate(waves):
            for a, b in _spans(speech_regions(wave)):
                spans.append((a + int(offsets[n]), b + int(offsets[n])))
                owners.append(n)
        out: list[list[Segment]] = [[] for _ in waves]
        decoded = self._decode(np.concatenate(waves), spans, self.options.language, hotwords) if spans else []
        for span, seg in decoded:
            n = owners[span]
            local = _shifted(seg, -offsets[n] / SAMPLE_RATE)
            end = min(len(waves[n]) / SAMPLE_RATE, local.end_s)
            out[n].append(Segment(max(0.0, local.start_s), end, local.text, local.language))
        return out

    def _decode(
        self, samples: np.ndarray, spans: list[tuple[int, int]], language: str | None, hotwords: str | None = None
    ) -> list[tuple[int, Segment]]:
        """Decode `spans` (sample ranges of `samples`, each at most WINDOW_S): (span index, segment) of the
        segments that pass the guards."""
        found, info = self.pipeline.transcribe(
            samples,
            language=language,
            clip_timestamps=[{"start": a / SAMPLE_RATE, "end": b / SAMPLE_RATE} for a, b in spans],
            vad_filter=False,
            without_timestamps=False,
            beam_size=1,
            temperature=0.0,
            batch_size=self.options.batch_size,
            hotwords=hotwords,
        )
        # a segment's `seek` is its clip's start frame, computed by faster-whisper through a float round
        # trip that can land one frame low: the span is the last one starting at or before seek + 1
        starts = [int(a / SAMPLE_RATE * FRAMES_PER_S) for a, _b in spans]
        return [
            (
                max(0, bisect.bisect_right(starts, s.seek + 1) - 1),
                Segment(round(s.start, 3), round(s.end, 3), s.text.strip(), info.language),
            )
            for s in found
            if plausible(s.text, s.no_speech_prob, s.avg_logprob, s.compression_ratio)
        ]


def plausible(text: str, no_speech_prob: float, avg_logprob: float, compression_ratio: float) -> bool:
    """Whether a decoded segment is speech rather than one of Whisper's inventions (see the module docstring)."""
    words = re.findall(r"\w+", text.lower())
    if not words or avg_logprob < LOGPROB_FLOOR or compression_ratio > COMPRESSION_MAX:
        return False
    if no_speech_prob > NO_SPEECH_MAX and avg_logprob < LOGPROB_MIN:
        return False
    return not _repeats(words)


def _repeats(words: list[str]) -> bool:
    """A word or a pair of words repeated more than REPEAT_MAX times in a row."""
    for size in (1, 2):
        run = 1
        for i in range(size, len(words) - size + 1):
            run = run + 1 if words[i : i + size] == words[i - size : i] else 1
            if run > REPEAT_MAX:
                return True
    return False


def speech_regions(samples: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) sample ranges of speech found by Silero VAD, each at most WINDOW_S long."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=500, speech_pad_ms=300, max_speech_duration_s=WINDOW_S - 1)
    return [(r["start"], r["end"]) for r in get_speech_timestamps(samples, options, sampling_rate=SAMPLE_RATE)]


def _spans(regions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Consecutive regions merged while the merged span (silences between included) fits in WINDOW_S."""
    limit = round(WINDOW_S * SAMPLE_RATE) - SAMPLE_RATE // 10
    spans: list[tuple[int, int]] = []
    for start, end in regions:
        if spans and end - spans[-1][0] <= limit:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def _shifted(segment: Segment, seconds: float) -> Segment:
    return Segment(
        round(segment.start_s + seconds, 3), round(segment.end_s + seconds, 3), segment.text, segment.language
    )


def index_speech_options(settings: "IndexSettings", workers: int) -> SpeechOptions | None:
    """The speech options of an indexing run, or None when it does not transcribe; the model is resolved
    (and hash-checked) here, once, before any worker starts. Raises MissingDependencyError when
    transcription was asked for without the speech extra."""
    if settings.transcribe is False:
        return None
    try:
        require_faster_whisper()
    except MissingDependencyError:
        if settings.transcribe:
            raise
        return None
    options = SpeechOptions(
        model=settings.speech_model or DEFAULT_SPEECH_MODEL,
        language=settings.language,
        threads=max(1, (os.cpu_count() or 1) // max(1, workers)),
    )
    resolve_model(options.model)
    return options
