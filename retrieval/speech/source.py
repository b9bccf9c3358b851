"""The sound a file's transcript is made from, at the recogniser's rate: whole for a short file (packed with
other short clips), block by block for a long one (so an hour-long recording is never held in memory)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

import numpy as np

from retrieval.errors import MmsearchError
from retrieval.media.scan import FileFacts
from retrieval.speech.packing import SAMPLE_RATE, WINDOW_S

log = logging.getLogger(__name__)


def speech_source(facts: FileFacts) -> np.ndarray | Iterator[np.ndarray]:
    """The sound of an audio file or a video's track at `SAMPLE_RATE`: its samples when it lasts at most
    `WINDOW_S`, else its blocks, read as the transcriber takes them; empty, with a logged line, when it no
    longer decodes (the file keeps its other items)."""
    import soundfile as sf

    from retrieval.media.audio import audio_blocks, load_audio
    from retrieval.media.video import deadline_for, probe_video, sound_blocks

    try:
        if facts.modality == "video":
            video = probe_video(facts.path)
            blocks: Iterable[np.ndarray] = sound_blocks(facts.path, SAMPLE_RATE, deadline_for(facts.path, video))
            if video.duration_s <= WINDOW_S:
                return np.concatenate([np.zeros(0, np.float32), *blocks])
        elif sf.info(facts.path).duration <= WINDOW_S:
            return load_audio(facts.path, SAMPLE_RATE)
        else:
            blocks = audio_blocks(facts.path, SAMPLE_RATE)
    except (MmsearchError, OSError, RuntimeError) as err:
        log.warning("%s: no transcript (%s)", facts.path, err)
        return np.zeros(0, np.float32)
    return _logged(facts.path, blocks)


def _logged(path: str, blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """`blocks` until the first read error, which is logged: the transcript keeps what was heard before it."""
    try:
        yield from blocks
    except (MmsearchError, OSError) as err:
        log.warning("%s: transcript cut short (%s)", path, err)
