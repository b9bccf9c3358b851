"""Load stage: each file -> its content hash and model-ready inputs (or a failure), decoded in worker processes,
or in a thread of this process when there are none (`prefetch`)."""

from __future__ import annotations

import ctypes
import functools
import hashlib
import io
import logging
import os
import signal
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from retrieval.errors import MediaDecodeError, MmsearchError
from retrieval.ingest.prefetch import prefetched
from retrieval.media.scan import FileFacts
from retrieval.types import DEFAULT_KIND, IndexSettings, ItemKind, Vectors

if TYPE_CHECKING:
    from retrieval.encoders.base import AudioTransform, Encoder, ImageTransform
    from retrieval.speech.transcriber import SpeechOptions

log = logging.getLogger(__name__)

HASH_CHUNK = 1 << 20
FILE_FIELDS = ("duration_s", "fps", "codec", "rotation")
"""Facts of a whole audio or video file that its transcript items carry too."""
LOAD_BATCH = 16
"""Files a worker loads together (the speech of their short clips is packed into shared Whisper windows)."""


def file_sha256(path: str) -> str:
    """Hex sha256 of a file read in chunks (audio files can be large); MediaDecodeError when it is empty."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    if size == 0:
        raise MediaDecodeError(f"{path}: empty file")
    return digest.hexdigest()


@dataclass
class LoadedFile:
    """A decoded file: one model input per item (an image tensor, one tensor per audio window, one text
    per caption or speech segment) and each item's catalog fields. An item's `kind` field says which
    tower embeds it; without one it is the file's default kind."""

    facts: FileFacts
    content_hash: str
    inputs: list[Any]
    item_fields: list[dict[str, Any]] = field(default_factory=list)
    vectors: Vectors | None = None
    """The items' vectors when they were embedded as the file decoded (see `FileLoader.embedded`); then
    `inputs` is empty."""

    @property
    def item_count(self) -> int:
        """How many items the file holds."""
        return len(self.vectors) if self.vectors is not None else len(self.inputs)

    def kinds(self) -> list[ItemKind]:
        """The kind of each item, in order."""
        default = DEFAULT_KIND[self.facts.modality]
        fields = self.item_fields or [{}] * self.item_count
        return [f.get("kind", default) for f in fields]


@dataclass
class FailedFile:
    """A file that could not be decoded, with a one-line reason."""

    facts: FileFacts
    reason: str


@dataclass(frozen=True)
class FileLoader:
    """Picklable callable run in DataLoader workers: hash, decode and transform one file.

    An image's bytes are read once for both the hash and the decode; audio is hashed and decoded
    in blocks, so a long recording never sits in memory as raw bytes. With `speech` set, an audio
    file also gets one transcript item per speech segment (`load_batch` decodes the speech of a batch's
    short clips together; each worker loads the speech model once, on first use).
    """

    image_transform: "ImageTransform | None"
    audio_transform: "AudioTransform | None"
    image_draft_size: int = 224
    audio_sample_rate: int = 16_000
    audio_window_s: float = 2.0
    video_fps: float = 1.0
    speech: "SpeechOptions | None" = None

    @classmethod
    def for_encoder(
        cls, encoder: "Encoder", video_fps: float = 1.0, speech: "SpeechOptions | None" = None
    ) -> "FileLoader":
        """A loader with `encoder`'s transforms for the modalities it supports, sampling `video_fps` frames a
        second, transcribing speech with `speech` (when set and the model has a text tower)."""
        return cls(
            image_transform=encoder.image_transform() if encoder.supports("image") else None,
            audio_transform=encoder.audio_transform() if encoder.supports("audio") else None,
            audio_sample_rate=encoder.audio_sample_rate,
            audio_window_s=encoder.audio_window_s,
            video_fps=video_fps,
            speech=speech if encoder.supports("text") else None,
        )

    def load_batch(self, files: Sequence[FileFacts]) -> list[LoadedFile | FailedFile]:
        """`self(facts)` for each file; with `speech` set, the audio files also get one transcript item per
        speech segment, their short clips decoded in shared batches."""
        loaded = [self(facts) for facts in files]
        self._add_transcripts([f for f in loaded if isinstance(f, LoadedFile) and "window" in f.kinds()])
        return loaded

    def _add_transcripts(self, heard: list[LoadedFile], embed: "Embed | None" = None) -> None:
        """With `speech` set, give each file of `heard` one text item per speech segment (embedded at once
        by `embed` for a file embedded as it decoded); a recogniser failure costs them their transcripts."""
        if self.speech is None or not heard:
            return
        from retrieval.speech.items import transcript_items
        from retrieval.speech.source import speech_source
        from retrieval.speech.transcriber import transcriber

        waves = [speech_source(f.facts) for f in heard]
        try:
            transcripts = transcriber(self.speech).transcribe_many(waves)
        except Exception as err:  # a recogniser failure costs these files their transcripts, not the run
            log.warning("no transcripts for %d files (%s): %s", len(heard), type(err).__name__, err)
            return
        for file, segments in zip(heard, transcripts):
            texts, fields = transcript_items(segments, file.facts.path)
            facts = {k: file.item_fields[0].get(k) for k in FILE_FIELDS}  # a video's duration, codec...
            fields = [{**facts, **f} for f in fields]
            if embed is not None and file.vectors is not None and texts:
                vectors = embed(LoadedFile(file.facts, file.content_hash, list(texts), fields))
                file.vectors = np.concatenate([file.vectors, vectors])
            else:
                file.inputs += texts
            file.item_fields += fields

    def __call__(self, facts: FileFacts) -> LoadedFile | FailedFile:
        return _guarded(facts, self._whole)

    def _whole(self, facts: FileFacts) -> LoadedFile:
        if facts.modality == "image":
            return self._image(facts)
        if facts.modality == "audio":
            return self._audio(facts)
        if facts.modality == "video":
            raise MmsearchError(f"{facts.path}: a video is embedded as it decodes (FileLoader.embedded)")
        return self._text(facts)

    def embedded(self, facts: FileFacts, embed: "Embed") -> LoadedFile | FailedFile:
        """A video or a long recording (see `embeds_as_it_decodes`), its items embedded by `embed` EMBED_CHUNK
        at a time as they decode, so only their vectors are held: an hour of video never sits in memory as
        frames, nor an hour of sound as samples. A video's items are its shots (one representative frame
        each), its sound windows (with an audio tower); either's transcript segments follow (with `speech`).
        The file is committed whole, never half indexed."""
        if facts.modality == "video":
            return _guarded(facts, lambda f: self._embedded_video(f, embed))
        return _guarded(facts, lambda f: self._embedded_audio(f, embed))

    def _embedded_audio(self, facts: FileFacts, embed: "Embed") -> LoadedFile:
        from retrieval.media.audio import audio_blocks
        from retrieval.media.video import stream_windows

        if self.audio_transform is None:
            raise MediaDecodeError(f"{facts.path}: this model has no audio tower")
        items = _EmbeddedItems(LoadedFile(facts, file_sha256(facts.path), []), embed)
        blocks = audio_blocks(facts.path, self.audio_sample_rate)
        for window in stream_windows(blocks, self.audio_sample_rate, self.audio_window_s):
            items.add(self.audio_transform(window.samples), {"start_s": window.start_s, "end_s": window.end_s})
        if not items.count:
            raise MediaDecodeError(f"cannot decode audio {facts.path}: no sound")
        loaded = items.done()
        self._add_transcripts([loaded], embed)
        return loaded

    def _image(self, facts: FileFacts) -> LoadedFile:
        from retrieval.media.image import decode_image

        if self.image_transform is None:
            raise MediaDecodeError(f"{facts.path}: this model has no image tower")
        with open(facts.path, "rb") as handle:
            data = handle.read()
        if not data:
            raise MediaDecodeError(f"{facts.path}: empty file")
        decoded = decode_image(io.BytesIO(data), facts.path, self.image_draft_size)
        return LoadedFile(
            facts,
            hashlib.sha256(data).hexdigest(),
            [self.image_transform(decoded.image)],
            [{"width": decoded.width, "height": decoded.height, **decoded.facts.fields()}],
        )

    def _audio(self, facts: FileFacts) -> LoadedFile:
        from retrieval.media.audio import audio_windows, load_audio

        if self.audio_transform is None:
            raise MediaDecodeError(f"{facts.path}: this model has no audio tower")
        digest = file_sha256(facts.path)
        windows = audio_windows(
            load_audio(facts.path, sample_rate=self.audio_sample_rate), self.audio_sample_rate, self.audio_window_s
        )
        return LoadedFile(
            facts,
            digest,
            [self.audio_transform(w.samples) for w in windows],
            [{"start_s": w.start_s, "end_s": w.end_s} for w in windows],
        )

    def _embedded_video(self, facts: FileFacts, embed: "Embed") -> LoadedFile:
        from retrieval.media.audio import SILENCE_PEAK
        from retrieval.media.shots import group_shots
        from retrieval.media.video import deadline_for, probe_video, sample_frames, sound_blocks, stream_windows

        if self.image_transform is None:
            raise MediaDecodeError(f"{facts.path}: this model has no image tower")
        video = probe_video(facts.path)
        deadline = deadline_for(facts.path, video)
        items = _EmbeddedItems(LoadedFile(facts, file_sha256(facts.path), []), embed)
        for shot in group_shots(sample_frames(facts.path, 1 / self.video_fps, deadline), video.duration_s):
            span = {"kind": "shot", "start_s": shot.start_s, "end_s": shot.end_s}
            items.add(self.image_transform(shot.image), span)
        if self.audio_transform is not None and video.has_audio:
            pictures, peak = items.count, 0.0
            blocks = sound_blocks(facts.path, self.audio_sample_rate, deadline)
            for window in stream_windows(blocks, self.audio_sample_rate, self.audio_window_s):
                peak = max(peak, float(np.abs(window.samples).max(initial=0.0)))
                span = {"kind": "window", "start_s": window.start_s, "end_s": window.end_s}
                items.add(self.audio_transform(window.samples), span)
            if peak < SILENCE_PEAK:  # a silent track gives no windows
                items.keep(pictures)
        if not items.count:
            raise MediaDecodeError(f"cannot decode video {facts.path}: no picture or sound decodes")
        loaded = items.done()
        duration = video.duration_s or max(float(f["end_s"]) for f in loaded.item_fields)
        common = {**video.fields(), "duration_s": duration, "width": video.width, "height": video.height}
        loaded.item_fields = [{**common, **f} for f in loaded.item_fields]
        if "window" in loaded.kinds():
            self._add_transcripts([loaded], embed)
        return loaded

    def _text(self, facts: FileFacts) -> LoadedFile:
        from retrieval.media.text import read_text_items

        digest = hashlib.sha256(Path(facts.path).read_bytes()).hexdigest()
        texts = read_text_items(Path(facts.path))
        fields = [
            {"part": t.part, "text": t.text, "ref": t.ref, "content_hash": hashlib.sha256(t.text.encode()).hexdigest()}
            for t in texts
        ]
        return LoadedFile(facts, digest, [t.text for t in texts], fields)


def _guarded(facts: FileFacts, load: Callable[[FileFacts], LoadedFile]) -> LoadedFile | FailedFile:
    """`load(facts)`, or a FailedFile with the one-line reason; a path that is no longer a regular file (a FIFO
    put there since the scan, whose open would block) is refused first."""
    try:
        if not stat.S_ISREG(os.stat(facts.path).st_mode):
            raise MediaDecodeError(f"{facts.path}: not a regular file")
        return load(facts)
    except (MmsearchError, OSError) as err:
        return FailedFile(facts, str(err))


Embed = Callable[[LoadedFile], Vectors]
"""Vectors of a loaded file's items (the encode stage, handed to the load stage for long files)."""
EMBED_CHUNK = 16
"""Items of a video or long recording decoded before they are embedded, and the most the encoder takes at
once for them: the frames held, and the encoder's activations (64 photos take ~600 MB on a CPU)."""
LONG_AUDIO_S = 600.0
"""Recordings longer than this are embedded as they decode (shorter ones decode whole, in worker processes)."""


class _EmbeddedItems:
    """A file's items gathered as they decode and embedded EMBED_CHUNK at a time; only vectors are kept."""

    def __init__(self, file: LoadedFile, embed: Embed) -> None:
        self.file, self.embed = file, embed
        self.fields: list[dict[str, Any]] = []
        self.vectors: list[np.ndarray] = []

    @property
    def count(self) -> int:
        """Items added so far."""
        return len(self.fields)

    def add(self, model_input: Any, fields: dict[str, Any]) -> None:
        """One more item; a full chunk is embedded."""
        self.file.inputs.append(model_input)
        self.fields.append(fields)
        if len(self.file.inputs) >= EMBED_CHUNK:
            self._flush()

    def keep(self, count: int) -> None:
        """Drop every item after the first `count`."""
        self._flush()
        del self.fields[count:]
        self.vectors = [np.concatenate(self.vectors)[:count]] if self.vectors else []

    def done(self) -> LoadedFile:
        """The file with every item's vector and fields."""
        self._flush()
        self.file.item_fields = self.fields
        self.file.vectors = np.concatenate(self.vectors)
        return self.file

    def _flush(self) -> None:
        pending = self.file.inputs  # the last len(pending) items are not embedded yet
        if pending:
            fields = self.fields[len(self.fields) - len(pending) :]
            self.vectors.append(self.embed(LoadedFile(self.file.facts, self.file.content_hash, pending, fields)))
            self.file.inputs = []


def embeds_as_it_decodes(facts: FileFacts) -> bool:
    """Whether a file is embedded as it decodes (`FileLoader.embedded`): every video, and recordings whose
    header says they last over LONG_AUDIO_S (a header that cannot be read: no, its load reports why)."""
    if facts.modality == "video":
        return True
    if facts.modality != "audio":
        return False
    import soundfile as sf

    try:
        return float(sf.info(facts.path).duration) > LONG_AUDIO_S
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError, TypeError):
        return False


def default_workers() -> int:
    """Decode worker processes to use: none on two cores or fewer (a decode thread overlaps with the encoder
    there, 1.11x faster than a worker process: docs/benchmarks.md), else all cores but the encoder's, at
    most four."""
    cores = os.cpu_count() or 2
    return 0 if cores <= 2 else min(4, cores - 1)


def prefetch_batches(settings: IndexSettings) -> int:
    """Load batches (LOAD_BATCH files each) decoded ahead of the encoder: queued by the decode thread, or by
    each worker process."""
    return max(2, settings.batch_size // 8)


def load_files(
    files: Sequence[FileFacts], encoder: "Encoder", settings: IndexSettings, embed: Embed
) -> Iterator[LoadedFile | FailedFile]:
    """Decoded files: photos, sounds and texts in order, produced by worker processes that overlap with
    encoding (which also transcribe the audio files when `settings` asks for it); then each video and long
    recording, decoded here and embedded by `embed` as it decodes (`FileLoader.embedded`)."""
    from retrieval.speech.transcriber import index_speech_options

    whole: list[FileFacts] = []
    streamed: list[FileFacts] = []
    for facts in files:  # a recording's header is read once to choose
        (streamed if embeds_as_it_decodes(facts) else whole).append(facts)
    files = whole
    workers = default_workers() if settings.workers is None else settings.workers
    workers = min(workers, max(1, len(files) // 16)) if files else 0
    heard = any(f.modality == "audio" for f in files) or bool(streamed)
    speech = index_speech_options(settings, workers) if heard else None
    loader = FileLoader.for_encoder(encoder, settings.video_fps, speech)
    prefetch = prefetch_batches(settings)
    batches: Iterable[list[LoadedFile | FailedFile]]
    if workers:
        from torch.utils.data import BatchSampler, DataLoader, Dataset, SequentialSampler

        batches = DataLoader(
            cast("Dataset[LoadedFile | FailedFile]", _FileDataset(list(files), loader)),
            batch_size=None,
            sampler=BatchSampler(SequentialSampler(range(len(files))), LOAD_BATCH, drop_last=False),
            collate_fn=_as_list,
            num_workers=workers,
            prefetch_factor=prefetch,
            worker_init_fn=functools.partial(_start_worker, os.getpid()),
            # CTranslate2's OpenMP threads hang in a process forked from one that already ran parallel code; else
            # fork, named, so that the worker's parent is this process whatever Python's default (`_start_worker`)
            multiprocessing_context="spawn" if speech is not None else "fork" if sys.platform == "linux" else None,
        )
    else:
        batches = prefetched(
            (loader.load_batch(files[i : i + LOAD_BATCH]) for i in range(0, len(files), LOAD_BATCH)), prefetch
        )
    for batch in batches:
        yield from batch
    for facts in streamed:
        yield loader.embedded(facts, embed)


class _FileDataset:
    def __init__(self, files: list[FileFacts], loader: FileLoader) -> None:
        self.files = files
        self.loader = loader

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, indices: list[int]) -> list[LoadedFile | FailedFile]:
        return self.loader.load_batch([self.files[i] for i in indices])


def _as_list(batch: list[LoadedFile | FailedFile]) -> list[LoadedFile | FailedFile]:
    return batch


def _start_worker(parent: int, _worker_id: int) -> None:
    """A decode worker runs torch on one thread and, on Linux, is killed when its parent (the index run, pid
    `parent`) dies: a run killed with SIGKILL (or by the OOM killer) would otherwise leave a worker blocked for
    good on its full queue. Where prctl fails, the worker goes on without it."""
    import torch

    torch.set_num_threads(1)
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(ctypes.c_int(PR_SET_PDEATHSIG), ctypes.c_ulong(signal.SIGKILL))
        if os.getppid() != parent:  # it died before the call
            os._exit(1)


PR_SET_PDEATHSIG = 1
"""prctl(2): the signal a process gets when the thread that made it exits."""
