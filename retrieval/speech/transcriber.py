"""16 kHz mono samples -> timed transcript segments, with Whisper (faster-whisper, int8 on CPU).

Voice activity detection (Silero, bundled with faster-whisper) finds the speech; speech regions are
merged into spans of at most 30 s (Whisper's window) and decoded in batches, greedy. Guards drop what
Whisper invents on non-speech:
no VAD region -> nothing decoded; a segment with a high no-speech probability, a low average
log-probability, a high compression ratio or a run of repeated words is dropped.

Long recordings are processed in blocks of `BLOCK_S` seconds (a speech region running into a block's
end moves to the next block), so working memory stays bounded beyond the samples array itself.
Many short clips go through `transcribe_many`, which packs the speech spans of several clips into one
window (`packing.py`) and gives each clip the words heard in its own span, with times in its own clip.
"""

from __future__ import annotations

import bisect
import functools
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.errors import MissingDependencyError
from retrieval.speech import packing
from retrieval.speech.models import DEFAULT_SPEECH_MODEL, require_faster_whisper, resolve_model
from retrieval.speech.packing import SAMPLE_RATE, WINDOW_S, Piece

if TYPE_CHECKING:
    from faster_whisper import BatchedInferencePipeline

    from retrieval.types import IndexSettings

FRAMES_PER_S = 100
"""Whisper's feature frames per second (a decoded segment's `seek`)."""
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
PACK_ROUNDS = 2
"""Times a span that failed a check in a packed window is packed again (with other neighbours) before it is
decoded alone."""
TOKENS_PER_S = 8
"""Tokens a packed window may decode per second of speech in it (plus 4 per piece it may hold, and 8): enough
for fast speech and its timestamps, and where a repetition loop stops instead of at Whisper's 448."""
NEW_TOKENS_MAX = 220
"""Whisper decodes 448 tokens at most, prompt included, and faster-whisper keeps a prompt of hot words under
half of that."""


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
    batch_size: int = 2
    """Whisper windows encoded at once. Each window's attention scores take about 85 MB (base; tiny.en 65 MB);
    on 2 CPU cores batches of 1, 2, 4 and 8 decode a 300 s block in about the same time, and 8 peaks 500 MB
    higher than 2 (docs/benchmarks.md)."""


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

    def stream(self, samples: np.ndarray | Iterable[np.ndarray], hotwords: str | None = None) -> Iterator[Segment]:
        """Segments of one recording, given whole or as consecutive blocks of samples (read from a file as
        they are needed, so a long recording never sits in memory), decoded `BLOCK_S` at a time (the
        language is detected once, on the first speech); `hotwords` (words likely to be said) bias the
        decoder towards them."""
        size = round(BLOCK_S * SAMPLE_RATE)
        whole = samples
        source = (
            iter([whole[i : i + size] for i in range(0, len(whole), size)])
            if isinstance(whole, np.ndarray)
            else iter(whole)
        )
        language = self.options.language
        held, offset, more = np.zeros(0, np.float32), 0, True
        while more or len(held):
            while more and len(held) < size:
                block = next(source, None)
                more = block is not None
                if block is not None:
                    held = np.concatenate([held, np.asarray(block, dtype=np.float32)])
            chunk = held[:size]
            regions = speech_regions(chunk)
            cut = len(chunk)
            if (more or len(held) > size) and regions and regions[-1][0] > 0 and regions[-1][1] >= cut - SAMPLE_RATE:
                cut = regions.pop()[0]  # speech running into the block's end: decode it with the next block
            if regions:
                segments = [s for _n, s in self._decode(chunk, _spans(regions), language, hotwords)]
                language = language or (segments[0].language if segments else None)
                yield from (_shifted(s, offset / SAMPLE_RATE) for s in segments)
            held, offset = held[cut:], offset + cut

    def transcribe_many(
        self, clips: Sequence[np.ndarray | Iterable[np.ndarray]], hotwords: str | None = None, pack: bool = True
    ) -> list[list[Segment]]:
        """Segments of each recording (an array, or a stream of blocks as `stream` takes), times from its
        start. The speech spans of arrays of at most `WINDOW_S` are packed several to a Whisper window
        (`pack`; else each span is decoded on its own, in batches); longer recordings, and every clip when a
        multilingual model must detect the language (each clip may speak another), go through `stream`."""
        alone = self.multilingual and self.options.language is None
        short = [
            n
            for n, clip in enumerate(clips)
            if not alone and isinstance(clip, np.ndarray) and len(clip) <= WINDOW_S * SAMPLE_RATE
        ]
        out = [[] if n in short else list(self.stream(clip, hotwords)) for n, clip in enumerate(clips)]
        waves = [np.asarray(clips[n], dtype=np.float32) for n in short]
        for n, segments in zip(short, self._short_clips(waves, hotwords, pack)):
            out[n] = segments
        return out

    def _short_clips(self, waves: list[np.ndarray], hotwords: str | None, pack: bool) -> list[list[Segment]]:
        """Clips of at most WINDOW_S: their speech spans packed `PACK_MAX` to a window (`packing.py`); a span
        that fails a check there (no word of it heard, or a guard drops one of its segments) is packed again,
        with other neighbours, up to `PACK_ROUNDS` times, then decoded on its own, as every span is when not
        `pack`."""
        pieces = [Piece(n, a, b) for n, wave in enumerate(waves) for a, b in _spans(speech_regions(wave))]
        out: list[list[Segment]] = [[] for _ in waves]
        for _round in range(PACK_ROUNDS if pack else 0):
            if len(pieces) < 2:
                break
            heard = self._packed(waves, pieces, hotwords)
            for piece, segments in zip(pieces, heard):
                out[piece.clip] += segments or []
            pieces = [piece for piece, segments in zip(pieces, heard) if segments is None]
        for piece, segment in self._alone(waves, pieces, hotwords):
            out[piece.clip].append(segment)
        return [sorted(segments, key=lambda s: s.start_s) for segments in out]

    def _packed(self, waves: list[np.ndarray], pieces: list[Piece], hotwords: str | None) -> list[list[Segment] | None]:
        """Each piece decoded packed with the others (`packing.py`, word timestamps): its segments (its words
        grouped by the decoded segment they came from, times in its clip), or None when no word of it was heard
        or a guard drops one of its segments (then it must be decoded again)."""
        from faster_whisper.transcribe import get_compression_ratio

        layout = packing.pack(waves, pieces)
        speech_s = sum(p.end - p.start for p in pieces) / SAMPLE_RATE / len(layout.windows)
        found, info = self._decode_windows(
            layout.samples,
            self.options.language,
            layout.windows,
            hotwords,
            word_timestamps=True,
            max_new_tokens=min(NEW_TOKENS_MAX, round(TOKENS_PER_S * speech_s + 4 * packing.PACK_MAX + 8)),
        )
        heard: list[list[Segment] | None] = [[] for _ in pieces]
        for segment in found:
            groups: dict[int, list[Any]] = {}
            for word in segment.words or []:
                k = layout.owner(word.end)  # a word's start reaches back over the pause before it
                if k is not None:
                    groups.setdefault(k, []).append(word)
            for k, words in groups.items():
                text = "".join(w.word for w in words).strip()
                kept = heard[k]
                if kept is None or not plausible(
                    text, segment.no_speech_prob, segment.avg_logprob, get_compression_ratio(text)
                ):
                    heard[k] = None
                    continue
                start, end = layout.clip_span(k, words[0].start, words[-1].end)
                if not kept:  # a word's timestamp start is unreliable (packing.py): the piece's speech starts here
                    start = layout.pieces[k].start / SAMPLE_RATE
                kept.append(Segment(start, end, text, info.language))
        return [segments or None for segments in heard]

    def _alone(self, waves: list[np.ndarray], pieces: list[Piece], hotwords: str | None) -> list[tuple[Piece, Segment]]:
        """Each piece decoded on its own (a window of its own, in batches): its segments, times in its clip."""
        if not pieces:
            return []
        offsets = np.cumsum([0] + [len(w) for w in waves])
        spans = [(p.start + int(offsets[p.clip]), p.end + int(offsets[p.clip])) for p in pieces]
        out = []
        for n, segment in self._decode(np.concatenate(waves), spans, self.options.language, hotwords):
            piece = pieces[n]
            local = _shifted(segment, -offsets[piece.clip] / SAMPLE_RATE)
            end = min(len(waves[piece.clip]) / SAMPLE_RATE, local.end_s)
            out.append((piece, Segment(max(0.0, local.start_s), end, local.text, local.language)))
        return out

    def _decode(
        self, samples: np.ndarray, spans: list[tuple[int, int]], language: str | None, hotwords: str | None = None
    ) -> list[tuple[int, Segment]]:
        """Decode `spans` (sample ranges of `samples`, each at most WINDOW_S), each in a window of its own, in
        batches: (span index, segment) of the segments that pass the guards."""
        found, info = self._decode_windows(samples, language, spans, hotwords)
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

    def _decode_windows(
        self,
        samples: np.ndarray,
        language: str | None,
        windows: list[tuple[int, int]],
        hotwords: str | None,
        **options: Any,
    ) -> tuple[Any, Any]:
        """faster-whisper's batched decoding of `windows` (sample ranges of `samples`), greedy, no VAD (the
        regions are speech already): its segments and info; `options` add to or override the settings."""
        return self.pipeline.transcribe(
            samples,
            language=language,
            clip_timestamps=[{"start": a / SAMPLE_RATE, "end": b / SAMPLE_RATE} for a, b in windows],
            vad_filter=False,
            without_timestamps=False,
            beam_size=1,
            temperature=0.0,
            batch_size=self.options.batch_size,
            hotwords=hotwords,
            **options,
        )


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
