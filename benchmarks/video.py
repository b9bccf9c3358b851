"""Video targets: shots found by class name, indexing speed against a naive decoder, peak memory on an hour.

    .venv/bin/python -m benchmarks.video [--data ../shared/data] [--minutes 2] [--hour-minutes 60]
        [--skip-hour] [--skip-accuracy] [--batch-size 64]

All videos are built in a temp folder from Caltech-101 test-split photos and FSDD digits (deleted after):

1. accuracy: every class but BACKGROUND_Google and Faces_easy (a twin of Faces) as one 2.5 s shot of
   its first test photo, in videos of 20 shots; a text query "a photo of a {class}" restricted to
   video must return, at rank 1, a shot overlapping the class's shot. Also the shot detector's
   histogram distances: within a shot (a 12 % pan) against between different photos.
2. speed: a 720p 30 fps H.264 clip (a keyframe a second, as phones record) looped to `--minutes`,
   picture only, indexed with the default model, against a naive pass that decodes every frame and
   embeds one per second (same model and runtime, loaded and warmed first), in the same run; then
   with its sound track (spoken digits) as well, with and without speech transcripts.
3. memory: the clip looped to `--hour-minutes`, indexed in a child process, with and without
   transcripts; its peak RSS.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import soundfile as sf
from av.video.reformatter import VideoReformatter
from PIL import Image

from retrieval.engine import Engine
from retrieval.ingest.load import EMBED_CHUNK
from retrieval.media.audio import resample
from retrieval.media.shots import CUT_DISTANCE, histogram_distance, pixel_histogram
from retrieval.media.video import thumbnail
from retrieval.query.prompts import IMAGE_TEMPLATES, clean_label
from retrieval.query.zeroshot import build_classifier
from retrieval.types import IndexSettings
from tests.fixtures.videos import Shot, shot_spans, speech_track, write_video

REPO = Path(__file__).resolve().parents[1]
SHOT_S = 2.5
PER_VIDEO = 20


def test_photos(data: Path) -> dict[str, list[Path]]:
    """Test-split photos per class, in labels.csv order."""
    out: dict[str, list[Path]] = {}
    with open(data / "caltech101/labels.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["split"] == "test" and row["label"] not in ("BACKGROUND_Google", "Faces_easy"):
                out.setdefault(row["label"], []).append(data / "caltech101" / row["path"])
    return out


def accuracy(root: Path, photos: dict[str, list[Path]]) -> dict[str, object]:
    """Share of classes whose rank-1 video hit overlaps their shot, for one prompt and for the prompt
    ensemble of zero-shot classification; and the same queries over the photos themselves (the ceiling
    the model sets: a shot is embedded from one frame of its photo)."""
    classes = sorted(photos)
    media, stills, truth = root / "shots", root / "stills", {}
    media.mkdir()
    stills.mkdir()
    for n in range(0, len(classes), PER_VIDEO):
        shots = [Shot(photos[c][0], SHOT_S, c) for c in classes[n : n + PER_VIDEO]]
        path = write_video(media / f"shots{n // PER_VIDEO:02d}.mp4", shots, size=(320, 240))
        truth.update({s.label: (str(path), span) for s, span in zip(shots, shot_spans(shots))})
    for c in classes:
        shutil.copy2(photos[c][0], stills / f"{c}.jpg")
    videos, images = Engine(root / "shots-db"), Engine(root / "stills-db")
    report = videos.index([media], IndexSettings(workers=0))
    images.index([stills], IndexSettings(workers=0))
    encoder = videos.encoder
    queries = {
        "one_prompt": encoder.encode_texts([f"a photo of a {clean_label(c)}" for c in classes]),
        "prompt_ensemble": build_classifier(encoder.encode_texts, [clean_label(c) for c in classes], IMAGE_TEMPLATES),
    }
    out: dict[str, object] = {"classes": len(classes), "shots": report.items}
    for name, vectors in queries.items():
        right = stills_right = 0
        for label, vector in zip(classes, vectors):
            hit = videos.search(vector, k=1, modality="video")[0]
            path, (start, end) = truth[label]
            right += hit.path == path and hit.fields["start_s"] < end and hit.fields["end_s"] > start
            stills_right += Path(images.search(vector, k=1)[0].path).stem == label
        out[f"video_rank1_{name}"] = right / len(classes)
        out[f"photo_rank1_{name}"] = stills_right / len(classes)
    return out


def histogram_separation(photos: dict[str, list[Path]]) -> dict[str, float]:
    """Frame distances within a panned shot and between photos of different classes, at CUT_DISTANCE, on the
    thumbnails the sampler makes (here of 640x480 yuv420p frames)."""
    scaler = VideoReformatter()

    def view(path: Path, fx: float, fy: float) -> np.ndarray:
        with Image.open(path) as opened:
            im = opened.convert("RGB")
        w, h = im.size
        cw, ch = int(w * 0.8), int(h * 0.8)
        x, y = int((w - cw) * fx), int((h - ch) * fy)
        frame = av.VideoFrame.from_image(im.crop((x, y, x + cw, y + ch)).resize((640, 480))).reformat(format="yuv420p")
        return pixel_histogram(thumbnail(frame, scaler))

    firsts = [p[0] for p in photos.values()]
    within = [histogram_distance(view(p, 0, 0), view(p, 0.6, 0.4)) for p in firsts]
    hists = [view(p, 0, 0) for p in firsts]
    across = [histogram_distance(a, b) for i, a in enumerate(hists) for b in hists[i + 1 :]]
    return {
        "within_max": max(within),
        "false_cut_rate": float(np.mean(np.array(within) > CUT_DISTANCE)),
        "missed_cut_rate": float(np.mean(np.array(across) <= CUT_DISTANCE)),
        "pairs": len(across),
    }


def make_clip(path: Path, photos: dict[str, list[Path]], data: Path) -> Path:
    """60 s of 720p 30 fps H.264, a keyframe every second, 12 shots of 5 s, spoken digits every 4 s."""
    classes = sorted(photos)[::8][:12]
    shots = [Shot(photos[c][1], 5.0, c) for c in classes]
    clips = []
    for n, offset in enumerate(range(1, 60, 4)):
        wave, rate = sf.read(data / f"fsdd/recordings/{n % 10}_jackson_{n}.wav", dtype="float32")
        clips.append((float(offset), resample(wave, rate, 16_000)))
    sound = speech_track(clips, 60.0)
    return write_video(path, shots, size=(1280, 720), fps=30, sound=sound, gop=30)


def loop_clip(source: Path, target: Path, minutes: float, kinds: tuple[str, ...] = ("video", "audio")) -> Path:
    """`source`'s streams of `kinds` repeated (packets copied, timestamps shifted) until they last `minutes`."""
    with av.open(str(source)) as src:
        spans = [
            (float(p.dts * p.time_base), float((p.dts + (p.duration or 0)) * p.time_base))
            for p in src.demux()
            if p.dts is not None and p.time_base
        ]
    length = max(end for _, end in spans) - min(start for start, _ in spans)  # a lap starts after the last one
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in src.streams if s.type in kinds}
        for lap in range(int(np.ceil(minutes * 60 / length))):
            src.seek(0)
            for packet in src.demux(*[src.streams[i] for i in streams]):
                if packet.dts is None or packet.pts is None or packet.time_base is None:
                    continue
                shift = round(lap * length / packet.time_base)
                packet.pts, packet.dts = packet.pts + shift, packet.dts + shift
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    return target


def warm(engine: Engine) -> None:
    """Load the model and the runtime an index run uses, and run one full chunk of images through it (ONNX
    Runtime's first call at a batch size is 1.5-2x slower than the next)."""
    engine.encoder.use_runtime("auto")
    engine.encoder.encode_images([Image.new("RGB", (320, 240))] * EMBED_CHUNK)


def naive(path: Path, engine: Engine) -> float:
    """Seconds to decode every frame and embed the first one of each second, with the model and runtime an
    index run uses, loaded and warmed before the clock (as ours is)."""
    warm(engine)
    start = time.perf_counter()
    next_s, batch = 0.0, []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= next_s:
                batch.append(frame.to_image())
                next_s += 1.0
                if len(batch) == 32:
                    engine.encoder.encode_images(batch)
                    batch = []
    if batch:
        engine.encoder.encode_images(batch)
    return time.perf_counter() - start


def ours(path: Path, db: Path, batch_size: int, transcribe: bool = True) -> dict[str, float]:
    """Index `path` in a child process (speech transcribed when `transcribe` and the speech extra is
    installed, as `mmsearch index` does), with the model and runtime loaded and warmed before the clock, as
    the naive pass's are: wall seconds, items and peak RSS (MiB)."""
    code = (
        "import json, resource, sys, time\n"
        "from retrieval.engine import Engine\n"
        "from retrieval.types import IndexSettings\n"
        "from benchmarks.video import warm\n"
        "import retrieval.ingest.load, retrieval.media.shots  # imported before the clock, as the naive pass's av is\n"
        "engine = Engine(sys.argv[2]); warm(engine)\n"
        "start = time.perf_counter()\n"
        "transcribe = None if sys.argv[4] == '1' else False\n"
        "settings = IndexSettings(batch_size=int(sys.argv[3]), workers=0, transcribe=transcribe)\n"
        "report = engine.index([sys.argv[1]], settings)\n"
        "print(json.dumps({'seconds': time.perf_counter() - start, 'items': report.items,\n"
        "    'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    command = [sys.executable, "-c", code, str(path), str(db), str(batch_size), "1" if transcribe else "0"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="length of the speed run's video")
    parser.add_argument("--hour-minutes", type=float, default=60.0, help="length of the memory run's video")
    parser.add_argument("--skip-hour", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--batch-size", type=int, default=IndexSettings().batch_size, help="as `mmsearch index`")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("MMSEARCH_DATA", REPO.parent / "shared" / "data")),
    )
    args = parser.parse_args()
    data = args.data
    photos = test_photos(data)
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if not args.skip_accuracy:
            results["histogram"] = histogram_separation(photos)
            results["accuracy"] = accuracy(root, photos)
            print(json.dumps(results, indent=1), flush=True)
        clip = make_clip(root / "clip.mp4", photos, data)
        seconds = args.minutes * 60
        picture = loop_clip(clip, root / "picture.mp4", args.minutes, ("video",))
        run = ours(picture, root / "picture-db", args.batch_size)
        baseline = naive(picture, Engine(root / "picture-db"))
        speed = loop_clip(clip, root / "speed.mp4", args.minutes)
        with_sound = ours(speed, root / "speed-db", args.batch_size)
        no_transcripts = ours(speed, root / "windows-db", args.batch_size, transcribe=False)
        results["speed"] = {
            "video_s": seconds,
            "ours_picture_s": run["seconds"],
            "ours_picture_x_realtime": seconds / run["seconds"],
            "naive_s": baseline,
            "naive_x_realtime": seconds / baseline,
            "ours_vs_naive": baseline / run["seconds"],
            "ours_with_sound_s": with_sound["seconds"],
            "ours_with_sound_x_realtime": seconds / with_sound["seconds"],
            "ours_sound_no_transcripts_x_realtime": seconds / no_transcripts["seconds"],
            "items_picture": run["items"],
            "items_with_sound": with_sound["items"],
        }
        print(json.dumps(results["speed"], indent=1), flush=True)
        picture.unlink()
        speed.unlink()
        if not args.skip_hour:
            hour = loop_clip(clip, root / "hour.mp4", args.hour_minutes)
            results["hour"] = {"video_s": args.hour_minutes * 60, **ours(hour, root / "hour-db", args.batch_size)}
            print(json.dumps(results["hour"], indent=1), flush=True)
            windows = ours(hour, root / "hour-windows-db", args.batch_size, transcribe=False)
            results["hour_no_transcripts"] = windows
            hour.unlink()
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
