"""Video decoding on clips built from real Caltech photos: probing, sampling, shots, rotation, sound, bad files."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from retrieval.errors import MediaDecodeError
from retrieval.media.audio import audio_windows, resample
from retrieval.media.shots import MAX_SHOT_S, group_shots, histogram_distance, pixel_histogram
from retrieval.media.video import (
    THUMBNAIL_SIDE,
    deadline_for,
    frame_at,
    probe_video,
    sample_frames,
    sound_blocks,
    stream_windows,
)
from tests.conftest import caltech_test_images
from tests.fixtures.videos import Shot, damage, shot_spans, speech_track, write_video

CLASSES = ("airplanes", "dolphin", "pizza", "sunflower")


@pytest.fixture(scope="module")
def shots(data_dir: Path) -> list[Shot]:
    """Four photos of different classes, shown 3, 4, 2.5 and 3.5 s."""
    images = caltech_test_images(data_dir, CLASSES, per_class=1)
    return [Shot(path, seconds, label) for (path, label), seconds in zip(images, (3.0, 4.0, 2.5, 3.5))]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory, shots: list[Shot], data_dir: Path) -> dict[str, Path]:
    """The same shots as plain, rotated, variable-rate, MPEG-4 yuv444, sparse-keyframe, damaged and sound clips."""
    root = tmp_path_factory.mktemp("videos")
    seven, rate = sf.read(data_dir / "fsdd/recordings/7_yweweler_1.wav", dtype="float32")
    sound = speech_track([(5.0, resample(seven, rate, 16_000))], 13.0)
    out = {
        "plain": write_video(root / "plain.mp4", shots, sound=sound),
        "rotated": write_video(root / "rotated.mp4", shots, rotation=90),
        "vfr": write_video(root / "vfr.mkv", shots, variable_rate=True),
        "odd": write_video(root / "odd.avi", shots, codec="mpeg4", pix_fmt="yuv420p"),
        "yuv444": write_video(root / "yuv444.mkv", shots, pix_fmt="yuv444p", gop=60),
        "start": write_video(root / "faststart.mp4", shots, options={"movflags": "+faststart"}),
    }
    out["truncated"], out["corrupt"] = root / "truncated.mp4", root / "corrupt.mp4"
    damage(out["start"], truncated=out["truncated"], corrupt=out["corrupt"])
    (root / "empty.mp4").write_bytes(b"")
    out["empty"] = root / "empty.mp4"
    (root / "junk.mp4").write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    out["junk"] = root / "junk.mp4"
    return out


def _shots(path: Path, every_s: float = 1.0) -> list:
    facts = probe_video(path)
    return list(group_shots(sample_frames(path, every_s, deadline_for(path, facts)), facts.duration_s))


def colour_histogram(image: Image.Image) -> np.ndarray:
    """The shot detector's histogram of a picture (a THUMBNAIL_SIDE-square copy of it)."""
    side = (THUMBNAIL_SIDE, THUMBNAIL_SIDE)
    return pixel_histogram(np.asarray(image.convert("RGB").resize(side, Image.Resampling.BOX)))


def test_probe_reports_the_stream(clips: dict[str, Path]) -> None:
    facts = probe_video(clips["plain"])
    assert facts.duration_s == pytest.approx(13.0, abs=0.1)
    assert (facts.fps, facts.codec, facts.width, facts.height, facts.rotation) == (12.0, "h264", 192, 144, 0)
    assert facts.has_video and facts.has_audio
    rotated = probe_video(clips["rotated"])
    assert (rotated.rotation, rotated.width, rotated.height, rotated.has_audio) == (90, 192, 144, False)


def test_frames_are_sampled_once_per_slot(clips: dict[str, Path]) -> None:
    facts = probe_video(clips["plain"])
    times = [f.time_s for f in sample_frames(clips["plain"], 1.0, deadline_for("plain", facts))]
    assert len(times) == 13 and all(abs(t - n) <= 0.5 for n, t in enumerate(times))
    half = [f.time_s for f in sample_frames(clips["plain"], 0.5, deadline_for("plain", facts))]
    assert len(half) == 26
    frame = next(sample_frames(clips["plain"], 1.0, deadline_for("plain", facts)))
    assert frame.image.size == (192, 144) and frame.image.mode == "RGB"


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list:
    """Every picture the sampler decodes, as it decodes them."""
    from retrieval.media import video

    pictures: list = []
    decode = video._Reader.decode

    def counted(reader: video._Reader, packet: object) -> list:
        frames = decode(reader, packet)
        pictures.extend(frames)
        return frames

    monkeypatch.setattr(video._Reader, "decode", counted)
    return pictures


def test_phone_video_decodes_about_one_picture_per_sample(tmp_path: Path, shots: list[Shot], decoded: list) -> None:
    """A keyframe every second (as phones record) and one sample a second: the frames that follow a keyframe
    are skipped even while frame-threaded decoding still holds the keyframe's picture."""
    clip = write_video(tmp_path / "phone.mp4", shots, fps=24, gop=24)
    times = [f.time_s for f in sample_frames(clip, 1.0, deadline_for(clip, probe_video(clip)))]
    assert len(times) == 13 and all(abs(t - n) <= 0.5 for n, t in enumerate(times))
    # the first group of pictures (no keyframe gap is known yet), then the keyframes
    assert len(decoded) <= 24 + 13, len(decoded)


def test_keyframes_drifting_off_the_sample_times_are_still_sampled_alone(
    tmp_path: Path, shots: list[Shot], decoded: list
) -> None:
    """A keyframe every 25 frames at 24 fps comes 1/24 s later each second, so it passes through the quarter
    to half a second after the sample times, where a pessimistic guess of the next keyframe once decoded
    every picture of every GOP."""
    clip = write_video(tmp_path / "drift.mp4", shots, fps=24, gop=25)
    times = [f.time_s for f in sample_frames(clip, 1.0, deadline_for(clip, probe_video(clip)))]
    assert len(times) == 13 and all(abs(t - n) <= 0.5 for n, t in enumerate(times)), times
    assert len(decoded) <= 25 + 13 + 3, len(decoded)  # 38 with this PyAV; 56 with the margin on every GOP


@pytest.mark.parametrize("gop", [36, 46, 52])
def test_every_slot_is_sampled_whatever_the_gop(tmp_path: Path, shots: list[Shot], gop: int) -> None:
    """Steady GOPs of 1.5-2.2 s at 24 fps put keyframes at the very edge of a slot's window and a short last
    GOP at the end of the clip; each slot still gets a frame within half an interval of its time."""
    clip = write_video(tmp_path / f"gop{gop}.mp4", shots, fps=24, gop=gop)
    times = [f.time_s for f in sample_frames(clip, 1.0, deadline_for(clip, probe_video(clip)))]
    assert len(times) >= 13 and all(abs(t - n) <= 0.5 for n, t in enumerate(times)), times


@pytest.mark.parametrize("name", ["plain", "rotated", "vfr", "odd", "yuv444"])
def test_shot_boundaries_near_the_truth(clips: dict[str, Path], shots: list[Shot], name: str) -> None:
    found = _shots(clips[name])
    truth = shot_spans(shots)
    assert len(found) == len(truth), [(s.start_s, s.end_s) for s in found]
    for shot, (start, end) in zip(found, truth):
        assert abs(shot.start_s - start) <= 0.75 and abs(shot.end_s - end) <= 0.75
        assert start <= shot.time_s <= end  # the representative frame lies inside the true shot


def test_rotated_video_is_turned_upright(clips: dict[str, Path]) -> None:
    for plain, rotated in zip(_shots(clips["plain"]), _shots(clips["rotated"])):
        assert rotated.image.size == plain.image.size
        assert histogram_distance(colour_histogram(plain.image), colour_histogram(rotated.image)) < 0.1
        difference = np.abs(np.asarray(plain.image, np.float32) - np.asarray(rotated.image, np.float32)).mean()
        assert difference < 12  # the same picture the same way up (a wrong turn differs by far more)


def test_long_static_shots_are_split(tmp_path: Path, shots: list[Shot]) -> None:
    path = write_video(tmp_path / "still.mp4", [Shot(shots[0].image, 70.0)], size=(64, 48), fps=2)
    found = _shots(path, every_s=2.0)
    assert len(found) == 3 and all(s.end_s - s.start_s <= MAX_SHOT_S for s in found)
    assert found[0].start_s == 0 and found[-1].end_s == pytest.approx(70, abs=0.6)


def test_a_shot_converts_one_frame_and_holds_few_decoded_pictures(
    tmp_path: Path, shots: list[Shot], monkeypatch: pytest.MonkeyPatch
) -> None:
    import retrieval.media.shots as shots_module
    import retrieval.media.video as video

    path = write_video(tmp_path / "two.mp4", [Shot(shots[0].image, 40.0), Shot(shots[1].image, 20.0)], fps=4)
    facts = probe_video(path)
    times = [f.time_s for f in sample_frames(path, 0.5, deadline_for(path, facts))]
    one_picture = next(iter(sample_frames(path, 0.5, deadline_for(path, facts)))).held_bytes
    converted, convert = [], video._converted
    monkeypatch.setattr(video, "_converted", lambda *args: converted.append(args) or convert(*args))

    def grouped() -> tuple[list, int]:
        alive: list[weakref.ref] = []
        most_held = 0

        def watched() -> Iterator:
            nonlocal most_held
            for frame in sample_frames(path, 0.5, deadline_for(path, facts)):
                most_held = max(most_held, sum(f.held_bytes for r in alive if (f := r()) is not None))
                alive.append(weakref.ref(frame))
                yield frame

        return list(group_shots(watched(), facts.duration_s)), most_held

    found, most_held = grouped()
    assert [round(s.end_s) for s in found] == [30, 40, 60] and len(converted) == len(found)  # one frame a shot
    for shot in found:
        middle = (shot.start_s + shot.end_s) / 2
        assert shot.time_s == min((t for t in times if shot.start_s <= t <= shot.end_s), key=lambda t: abs(t - middle))
    assert most_held <= 32 * one_picture  # a 30 s shot sampled twice a second: those that may still be its middle

    monkeypatch.setattr(shots_module, "HELD_BYTES", 3 * one_picture)
    converted.clear()
    squeezed, most_held = grouped()
    assert most_held <= 4 * one_picture and len(converted) > len(found)  # the oldest were converted early
    assert [s.time_s for s in squeezed] == [s.time_s for s in found]
    assert all(np.array_equal(np.asarray(a.image), np.asarray(b.image)) for a, b in zip(squeezed, found))


def test_sound_track_windows_match_audio_windows(clips: dict[str, Path], data_dir: Path, monkeypatch) -> None:
    facts = probe_video(clips["plain"])
    wave = np.concatenate(list(sound_blocks(clips["plain"], 16_000, deadline_for("plain", facts))))
    assert len(wave) / 16_000 == pytest.approx(13.0, abs=0.1)
    loud = np.flatnonzero(np.abs(wave) > 0.05)
    assert loud[0] / 16_000 == pytest.approx(5.0, abs=0.1)  # the spoken seven starts where it was put
    import retrieval.media.video as video

    monkeypatch.setattr(video, "WINDOW_CHUNK_HOPS", 3)  # several chunks on a short track
    streamed = list(stream_windows(iter(np.array_split(wave, 7)), 16_000, 2.0))
    whole = audio_windows(wave, 16_000, 2.0)
    assert np.allclose([(w.start_s, w.end_s) for w in streamed], [(w.start_s, w.end_s) for w in whole])
    assert all(np.array_equal(a.samples, b.samples) for a, b in zip(streamed, whole))


def test_thumbnail_frame_at_a_time(clips: dict[str, Path]) -> None:
    found = _shots(clips["plain"])
    for shot in found:
        picture = frame_at(clips["plain"], (shot.start_s + shot.end_s) / 2)
        assert histogram_distance(colour_histogram(picture), colour_histogram(shot.image)) < 0.25
    assert frame_at(clips["plain"], 999).size == (192, 144)  # past the end: the last picture


def test_truncated_file_gives_the_shots_present(clips: dict[str, Path]) -> None:
    found = _shots(clips["truncated"])
    assert 1 <= len(found) < 4 and found[0].start_s == 0


@pytest.mark.parametrize("name", ["empty", "junk"])
def test_unreadable_files_raise_one_line(clips: dict[str, Path], name: str) -> None:
    with pytest.raises(MediaDecodeError) as err:
        _shots(clips[name])
    assert "\n" not in str(err.value) and str(clips[name]) in str(err.value)


def test_damaged_spot_is_skipped_over(clips: dict[str, Path]) -> None:
    found = _shots(clips["corrupt"])  # 2 % of the bytes are noise: the pictures around them still decode
    assert len(found) >= 3 and found[0].start_s == 0 and found[-1].end_s == pytest.approx(13, abs=0.1)
