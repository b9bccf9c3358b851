"""Video files -> their facts, upright frames sampled at a fixed rate, and the sound track; no model code here.

Frames are sampled in one pass over the packets: a keyframe near the next sample time is decoded on
its own, and a group of pictures is decoded further only when its next keyframe comes too late for a
sample, so phone video (a keyframe every second or two) decodes about one picture per sampled frame.
Each sampled picture is scaled by swscale to a small square thumbnail at once (shots are cut by
comparing them) and to the picture an image tower takes only when asked for (`SampledFrame.image`: a
shot asks for one of its frames'), so most sampled frames are never converted at full size. Every read
has a deadline, so a damaged file fails with one line instead of hanging.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
from av.video.reformatter import VideoReformatter
from PIL import Image

from retrieval.errors import MediaDecodeError
from retrieval.media.audio import AudioWindow, audio_windows

FRAME_SHORT_SIDE = 256
"""Sampled frames are scaled so their shorter side is at most this (what image towers crop 224 px from)."""
THUMBNAIL_SIDE = 64
"""Sampled frames are compared on a square RGB copy this size, scaled straight from the decoded picture (0.4 ms
a 720p frame, against 2.1 for the 256-px picture)."""
DEADLINE_BASE_S = 120.0
"""A file's decode may take this long plus its own duration (real time) before it is abandoned."""
MAX_BAD_PACKETS = 50
"""Undecodable packets tolerated in one file (damaged spots are skipped) before it is refused."""
GOP_MARGIN = 1.25
"""Where keyframes come irregularly (encoders add them at scene cuts), the next is expected within this many
times the longest of the last four gaps."""
STEADY_GOP = 0.1
"""Keyframe gaps that differ by at most this share of the longest are a steady GOP, predicted exactly."""
WINDOW_CHUNK_HOPS = 600
"""Audio windows are cut from this many hops of sound at a time, so no whole track is held."""


@dataclass(frozen=True)
class VideoFacts:
    """What a video file says about itself; width and height are as displayed (after rotation)."""

    duration_s: float
    fps: float | None
    codec: str | None
    width: int | None
    height: int | None
    rotation: int
    has_video: bool
    has_audio: bool

    def fields(self) -> dict[str, object]:
        """The catalog columns every item of the file carries."""
        return {"duration_s": self.duration_s, "fps": self.fps, "codec": self.codec, "rotation": self.rotation}


class SampledFrame:
    """One sampled frame: its presentation time in seconds, a `THUMBNAIL_SIDE`-square RGB copy for comparing
    frames (not turned upright), and the upright, scaled-down picture, converted only when first asked for: a
    shot converts one of its frames (`retrieval.media.shots`), and until then the decoded picture is held
    (`held_bytes` of it)."""

    def __init__(self, time_s: float, thumbnail: np.ndarray, convert: Callable[[], Image.Image], held_bytes: int):
        self.time_s, self.thumbnail, self.held_bytes = time_s, thumbnail, held_bytes
        self._convert = convert

    @functools.cached_property
    def image(self) -> Image.Image:
        """The upright picture, its shorter side at most the sampler's `short_side`; the decoded one is let go."""
        picture = self._convert()
        del self._convert
        self.held_bytes = 0
        return picture


class Deadline:
    """Raises MediaDecodeError once `seconds` have passed since it was made."""

    def __init__(self, path: str | Path, seconds: float) -> None:
        self.path, self.seconds, self.end = path, seconds, time.monotonic() + seconds

    def check(self) -> None:
        """Raise when the time is up."""
        if time.monotonic() > self.end:
            raise MediaDecodeError(f"cannot decode video {self.path}: gave up after {self.seconds:.0f} s")


def deadline_for(path: str | Path, facts: VideoFacts) -> Deadline:
    """The time limit for decoding `path`: `DEADLINE_BASE_S` plus one real-time pass."""
    return Deadline(path, DEADLINE_BASE_S + facts.duration_s)


@contextlib.contextmanager
def open_video(path: str | Path) -> Iterator[av.container.InputContainer]:
    """Open `path` for reading; any FFmpeg error (here or while reading) becomes one MediaDecodeError line."""
    try:
        if Path(path).stat().st_size == 0:
            raise MediaDecodeError(f"cannot decode video {path}: empty file")
        with av.open(str(path), metadata_errors="ignore") as container:
            yield container
    except (av.FFmpegError, OSError, ValueError, MemoryError) as err:
        reason = getattr(err, "strerror", None) or (str(err).splitlines()[0] if str(err) else type(err).__name__)
        raise MediaDecodeError(f"cannot decode video {path}: {reason}") from err


def probe_video(path: str | Path) -> VideoFacts:
    """Duration, frame rate, codec, displayed size and rotation of `path` (the first picture is decoded
    for its display matrix); MediaDecodeError when it has neither a video nor an audio stream."""
    with open_video(path) as container:
        video = container.streams.video[0] if container.streams.video else None
        has_audio = bool(container.streams.audio)
        if video is None and not has_audio:
            raise MediaDecodeError(f"cannot decode video {path}: no video or audio stream")
        duration = container.duration / 1e6 if container.duration else 0.0
        if video is None:
            return VideoFacts(duration, None, None, None, None, 0, False, True)
        rotation, size = _first_picture(container, video)
        rate = video.average_rate or video.guessed_rate
        return VideoFacts(
            duration,
            round(float(rate), 3) if rate else None,
            video.codec_context.name,
            *size,
            rotation,
            has_video=size != (None, None),
            has_audio=has_audio,
        )


def _first_picture(
    container: av.container.InputContainer, video: av.VideoStream
) -> tuple[int, tuple[int | None, int | None]]:
    """(rotation, displayed (width, height)) from the first decodable picture; (0, (None, None)) when none decodes."""
    reader = _Reader(container, video, Deadline(container.name, DEADLINE_BASE_S))
    for packet in reader.packets():
        for frame in reader.decode(packet):
            rotation = _quarter_turns(frame.rotation) * 90
            width, height = _display_size(frame, video)
            return rotation, ((height, width) if rotation % 180 else (width, height))
    return 0, (None, None)


def sample_frames(
    path: str | Path, every_s: float, deadline: Deadline, short_side: int = FRAME_SHORT_SIDE
) -> Iterator[SampledFrame]:
    """Upright frames about `every_s` apart, one per slot of that length, in time order (see the module docstring)."""
    with open_video(path) as container:
        if not container.streams.video:
            return
        video = container.streams.video[0]
        video.thread_type = "AUTO"
        reader, scalers = _Reader(container, video, deadline), (VideoReformatter(), VideoReformatter())
        zero = container.start_time / 1e6 if container.start_time else 0.0
        end = container.duration / 1e6 if container.duration else math.inf
        tolerance = every_s / 2
        next_s, planned_s, last_key, intact = 0.0, 0.0, -math.inf, False
        gaps: deque[float] = deque(maxlen=4)

        def slot_after(t: float) -> float:
            return (math.floor((t + tolerance) / every_s) + 1) * every_s

        def due() -> float:  # the next open slot, counting keyframes fed whose pictures the decoder still holds
            return max(next_s, planned_s)

        def next_key_late() -> bool:  # the current GOP's successor may not come in time for the next slot
            expected = last_key + _latest_gap(gaps)  # at the window's very edge it counts for the slot after
            return expected >= due() + tolerance or (expected >= end and due() < end)  # or the video ends first

        for packet in reader.packets():
            at = _packet_time(packet) - zero
            if packet.is_keyframe and math.isfinite(at):
                if at > last_key > -math.inf:
                    gaps.append(at - last_key)
                last_key = at
                fills_slot = at >= due() - tolerance
                intact = fills_slot or next_key_late()
                if not intact:
                    continue
                if fills_slot:
                    planned_s = slot_after(at)
            elif packet.size and not (intact and next_key_late()):
                intact = False
                continue
            for frame in reader.decode(packet):
                shown = frame.time - zero if frame.time is not None else -math.inf
                if shown < next_s - (tolerance if frame.key_frame else 0.5 / (video.average_rate or 30)):
                    continue
                yield _sampled(frame, shown, video, short_side, scalers)
                next_s = slot_after(shown)


class _Reader:
    """One stream's packets under a deadline, decoded with damaged packets skipped (up to MAX_BAD_PACKETS)."""

    def __init__(self, container: av.container.InputContainer, stream: av.stream.Stream, deadline: Deadline) -> None:
        self.container, self.stream, self.deadline, self.bad = container, stream, deadline, 0

    def packets(self) -> Iterator[av.Packet]:
        """The packets in file order; the last, empty one flushes the decoder."""
        for packet in self.container.demux(self.stream):
            self.deadline.check()
            yield packet

    def decode(self, packet: av.Packet) -> list[Any]:
        """The frames `packet` completes."""
        try:
            return list(self.stream.decode(packet))  # type: ignore[attr-defined]
        except av.InvalidDataError as err:
            self.bad += 1
            if self.bad > MAX_BAD_PACKETS:
                raise MediaDecodeError(f"cannot decode video {self.deadline.path}: too many damaged packets") from err
            return []


def _latest_gap(gaps: deque[float]) -> float:
    """How long after the last keyframe the next one may come. Where the recent gaps agree to a tenth (a
    steady GOP, as phones record), the longest of them plus their spread: a margin there made keyframes a
    quarter to half a second past the sample times look late every time, and every picture of every GOP was
    decoded (29.97 fps phone video drifts into that phase for minutes). Otherwise, with keyframes at scene
    cuts or too few gaps seen, `GOP_MARGIN` times the longest."""
    if not gaps:
        return math.inf
    longest, spread = max(gaps), max(gaps) - min(gaps)
    steady = len(gaps) > 1 and spread <= STEADY_GOP * longest
    return longest + spread if steady else GOP_MARGIN * longest


def _packet_time(packet: av.Packet) -> float:
    stamp = packet.pts if packet.pts is not None else packet.dts
    return float(stamp * packet.time_base) if stamp is not None and packet.time_base else math.inf


def _quarter_turns(rotation: float | None) -> int:
    return round((rotation or 0) / 90) % 4


def _display_size(frame: av.VideoFrame, video: av.VideoStream) -> tuple[int, int]:
    """(width, height) as stored but with non-square pixels made square."""
    aspect = video.sample_aspect_ratio or video.codec_context.sample_aspect_ratio
    width = round(frame.width * aspect) if aspect and aspect > 0 else frame.width
    return width, frame.height


def _sampled(
    frame: av.VideoFrame,
    shown: float,
    video: av.VideoStream,
    short_side: int,
    scalers: tuple[VideoReformatter, VideoReformatter],
) -> SampledFrame:
    """`frame` as a SampledFrame: its thumbnail made now, its picture when asked for. One scaler per output
    size is kept across a stream's frames, so swscale builds its filters once, not per frame."""
    convert = functools.partial(
        _converted, frame, _picture_size(frame, video, short_side), _quarter_turns(frame.rotation), scalers[1]
    )
    held = sum(plane.buffer_size for plane in frame.planes)
    return SampledFrame(shown, thumbnail(frame, scalers[0]), convert, held)


def thumbnail(frame: av.VideoFrame, scaler: VideoReformatter) -> np.ndarray:
    """The (THUMBNAIL_SIDE, THUMBNAIL_SIDE, 3) uint8 RGB thumbnail of `frame`, as stored (not turned upright)."""
    side = THUMBNAIL_SIDE
    return scaler.reformat(frame, format="rgb24", width=side, height=side, interpolation="AREA").to_ndarray()


def _picture(frame: av.VideoFrame, video: av.VideoStream, short_side: int) -> Image.Image:
    """RGB picture of `frame`: square pixels, shorter side at most `short_side`, turned upright."""
    size = _picture_size(frame, video, short_side)
    return _converted(frame, size, _quarter_turns(frame.rotation), VideoReformatter())


def _picture_size(frame: av.VideoFrame, video: av.VideoStream, short_side: int) -> tuple[int, int]:
    """(width, height) of `frame` as stored, scaled to square pixels and a shorter side of at most `short_side`."""
    width, height = _display_size(frame, video)
    scale = min(1.0, short_side / min(width, height))
    return max(2, round(width * scale)), max(2, round(height * scale))


def _converted(frame: av.VideoFrame, size: tuple[int, int], turns: int, scaler: VideoReformatter) -> Image.Image:
    """`frame` scaled to `size` in RGB, then turned upright by `turns` counter-clockwise quarter turns."""
    rgb = scaler.reformat(frame, format="rgb24", width=size[0], height=size[1], interpolation="AREA")
    image = Image.fromarray(rgb.to_ndarray())  # 0.6 ms a frame faster than VideoFrame.to_image
    return image.transpose(_TURNS[turns]) if turns else image


_TURNS = {1: Image.Transpose.ROTATE_90, 2: Image.Transpose.ROTATE_180, 3: Image.Transpose.ROTATE_270}
"""Counter-clockwise quarter turns -> the PIL transpose that makes them."""


def sound_blocks(path: str | Path, sample_rate: int, deadline: Deadline) -> Iterator[np.ndarray]:
    """The first audio stream as mono float32 blocks at `sample_rate` (nothing when there is none);
    a track starting late is preceded by silence so that block times match the video's."""
    with open_video(path) as container:
        if not container.streams.audio:
            return
        stream = container.streams.audio[0]
        reader = _Reader(container, stream, deadline)
        zero = container.start_time / 1e6 if container.start_time else 0.0
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        started = False
        for packet in reader.packets():
            for frame in reader.decode(packet):
                if not started and frame.time is not None and frame.time - zero > 0.01:
                    yield np.zeros(round((frame.time - zero) * sample_rate), np.float32)
                started = True
                yield from _resampled(resampler, frame, path)
        yield from _resampled(resampler, None, path)


def _resampled(resampler: av.AudioResampler, frame: av.AudioFrame | None, path: str | Path) -> Iterator[np.ndarray]:
    for out in resampler.resample(frame):
        block = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
        if not np.isfinite(block).all():
            raise MediaDecodeError(f"cannot decode video {path}: non-finite audio samples")
        yield block


def stream_windows(blocks: Iterator[np.ndarray], sample_rate: int, window_s: float) -> Iterator[AudioWindow]:
    """The windows `audio_windows` cuts from the whole track, cut from a few minutes of it at a time."""
    hop = round(window_s / 2 * sample_rate)
    step = WINDOW_CHUNK_HOPS * hop
    chunk = step + round(window_s * sample_rate) - hop
    pending: list[np.ndarray] = []
    held, offset = 0, 0
    for block in blocks:
        pending.append(block)
        held += len(block)
        if held >= chunk + hop:  # enough follows that a chunk holds no last window
            buffer = np.concatenate(pending)
            while len(buffer) >= chunk + hop:
                yield from _shifted(audio_windows(buffer[:chunk], sample_rate, window_s), offset / sample_rate)
                buffer, offset = buffer[step:], offset + step
            pending, held = [buffer], len(buffer)
    if held:
        yield from _shifted(audio_windows(np.concatenate(pending), sample_rate, window_s), offset / sample_rate)


def _shifted(windows: list[AudioWindow], by_s: float) -> Iterator[AudioWindow]:
    for w in windows:
        yield AudioWindow(w.start_s + by_s, w.end_s + by_s, w.samples)


def frame_at(path: str | Path, time_s: float, short_side: int = FRAME_SHORT_SIDE) -> Image.Image:
    """The upright picture shown at `time_s` (or the last one before the end): a seek to the keyframe
    before it, then decoding up to it; MediaDecodeError when the file has no decodable picture."""
    with open_video(path) as container:
        if not container.streams.video:
            raise MediaDecodeError(f"cannot decode video {path}: no video stream")
        video = container.streams.video[0]
        zero = container.start_time / 1e6 if container.start_time else 0.0
        target = max(0.0, time_s)
        if target > 0 and video.time_base:
            container.seek(round((target + zero) / video.time_base), stream=video, backward=True)
        reader, chosen = _Reader(container, video, Deadline(path, DEADLINE_BASE_S)), None
        for packet in reader.packets():
            for frame in reader.decode(packet):
                chosen = frame
                if frame.time is not None and frame.time - zero >= target:
                    return _picture(frame, video, short_side)
        if chosen is None:
            raise MediaDecodeError(f"cannot decode video {path}: no picture at {time_s:.1f} s")
        return _picture(chosen, video, short_side)
