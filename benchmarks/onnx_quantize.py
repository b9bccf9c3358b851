"""int8 quantization and OpenVINO for the lite model's image and audio towers, in one run, on real data:

1. exports the fp32 towers to ONNX (temporary cache) and makes int8 versions with onnxruntime.quantization:
   dynamic (int8 weights, activations quantized on the fly) and static (QDQ, per-channel int8 weights, uint8
   activations calibrated with MinMax on --calibration Caltech *train*-split photos / FSDD train-split windows,
   never on what is evaluated), the latter also with the fp32 Gemm/MatMul head left unquantized;
2. runs the fp32 ONNX file (and the static int8 one) with OpenVINO too, where `openvino` is installed;
3. prints per tower and variant: items/s (128 images / 64 audio windows, median of --runs after a warm-up), the
   ratio against eager torch and fp32 ONNX Runtime, and how its rankings agree with fp32 torch:
   image tower: Flickr validation split (160 images, 800 captions) text->image and Caltech test-split class-name
   queries, R@1/5/10 and top-10 overlap; audio tower: FSDD held-out speaker (yweweler, 500 clips, first window)
   zero-shot digit accuracy, predicted-digit agreement and digit-query top-10 overlap.
   Text queries always go through torch `encode_texts`. A variant qualifies ("ok") when every R@k (accuracy for
   audio) is within 0.005 of fp32 torch and every top-10 overlap is >= 0.95.

    .venv/bin/python -m benchmarks.onnx_quantize [--caltech 400] [--calibration 64] [--runs 3]

The CPU has AVX2 but no VNNI, so weights use reduce_range (7-bit) as onnxruntime advises for such CPUs.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from benchmarks.onnx_runtime import DATA, median_seconds, overlap, recalls

if TYPE_CHECKING:
    from retrieval.encoders.lite import LiteEncoder

Runner = Callable[..., list[np.ndarray]]
"""A tower on numpy arrays -> its outputs, as `OnnxTower` is called."""
RECALL_TOLERANCE = 0.005
MIN_OVERLAP = 0.95
SLOW = 4.0
"""A variant whose first call is this many times slower than fp32 ONNX Runtime is not ranked."""


class OpenVinoTower:
    """An ONNX file compiled by OpenVINO for the CPU, called like `OnnxTower`."""

    def __init__(self, path: Path, threads: int, fp32: bool) -> None:
        import openvino as ov

        config: dict[str, Any] = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
        if fp32:
            config["INFERENCE_PRECISION_HINT"] = "f32"
        self.compiled = ov.Core().compile_model(str(path), "CPU", config)
        self.request = self.compiled.create_infer_request()

    def __call__(self, *inputs: np.ndarray) -> list[np.ndarray]:
        result = self.request.infer([np.ascontiguousarray(x) for x in inputs])
        return [np.array(result[output], copy=True) for output in self.compiled.outputs]


class Batches:
    """A CalibrationDataReader over one input, `batch` rows at a time."""

    def __init__(self, name: str, data: np.ndarray, batch: int = 8) -> None:
        self.name, self.data, self.batch, self.start = name, data, batch, 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.start >= len(self.data):
            return None
        chunk = self.data[self.start : self.start + self.batch]
        self.start += self.batch
        return {self.name: np.ascontiguousarray(chunk)}

    def rewind(self) -> None:
        self.start = 0


def int8_files(fp32: Path, calibration: np.ndarray, out: Path) -> dict[str, Path | Exception]:
    """Dynamic and static (QDQ) int8 versions of `fp32` (or the error that stopped each one), written to `out`."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    out.mkdir(parents=True, exist_ok=True)
    logging.getLogger().setLevel(logging.ERROR)  # the quantizers warn about every integer tensor they skip
    stem = fp32.stem.split("-")[0]
    source = out / f"{stem}-pre.onnx"
    try:
        quant_pre_process(str(fp32), str(source))
    except Exception as err:  # fall back to the raw export; the quantizers still run on it
        print(f"  {stem}: quant_pre_process failed ({err!r}); quantizing the raw export")
        source = fp32
    model = onnx.load(str(source))
    input_name = model.graph.input[0].name
    head = [n.name for n in model.graph.node if n.op_type in ("Gemm", "MatMul")]
    files: dict[str, Path | Exception] = {}
    started = time.perf_counter()
    try:
        target = out / f"{stem}-dynamic.onnx"
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, reduce_range=True)
        files["int8 dynamic"] = target
    except Exception as err:
        files["int8 dynamic"] = err
    cache = out / f"{stem}-calibration.json"
    for label, exclude in (("int8 static", None), ("int8 static, fp32 head", head)):
        reader = Batches(input_name, calibration)
        assert isinstance(reader, CalibrationDataReader)
        try:
            target = out / f"{stem}-{'static' if exclude is None else 'static-head'}.onnx"
            quantize_static(
                str(source),
                str(target),
                reader,
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                reduce_range=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                nodes_to_exclude=exclude,
                calibration_cache_path=cache,
            )
            files[label] = target
        except Exception as err:
            files[label] = err
    logging.getLogger().setLevel(logging.WARNING)
    print(f"  {stem}: quantized in {time.perf_counter() - started:.1f} s (head nodes kept fp32: {head})")
    return files


def variants(fp32: Path, calibration: np.ndarray, out: Path, threads: int) -> dict[str, Runner | Exception]:
    """Every runner of one tower but eager torch, by label (or the error that stopped it)."""
    from retrieval.encoders.onnx_runtime import OnnxTower

    runners: dict[str, Runner | Exception] = {"onnxruntime fp32": OnnxTower(fp32, threads)}
    files = int8_files(fp32, calibration, out)
    for label, file in files.items():
        try:
            runners[f"onnxruntime {label}"] = file if isinstance(file, Exception) else OnnxTower(file, threads)
        except Exception as err:
            runners[f"onnxruntime {label}"] = err
    static = files.get("int8 static")
    for label, file, fp in (("openvino fp32", fp32, True), ("openvino int8 static", static, False)):
        try:
            if isinstance(file, Exception) or file is None:
                raise RuntimeError("no static int8 file")
            runners[label] = OpenVinoTower(file, threads, fp)
        except Exception as err:  # ModuleNotFoundError where openvino is not installed
            runners[label] = err
    return runners


@dataclass
class Row:
    """One variant's measurements."""

    label: str
    speed: float
    size_mb: float
    recall: dict[str, dict[int, float]]
    overlaps: dict[str, float]
    cosine: float
    agree: float | None = None


def print_table(title: str, unit: str, rows: list[Row], tasks: list[str]) -> None:
    """The rows of one tower, each against eager torch (first row) and fp32 ONNX Runtime."""
    base, ort = rows[0], next((r for r in rows if r.label == "onnxruntime fp32"), rows[0])
    print(f"\n{title}")
    recall_heads = "  ".join(f"{t + ' R@1/5/10':29s}" for t in tasks)
    print(f"{'variant':34s} {unit:>8s} {'/torch':>6s} {'/ort32':>6s} {'MB':>5s}  {recall_heads}  top-10 overlap  cos  ")
    for row in rows:
        if not row.recall:
            print(
                f"{row.label:34s} {row.speed:8.1f} {row.speed / base.speed:5.2f}x {row.speed / ort.speed:5.2f}x "
                f"{row.size_mb:5.1f}  not ranked: its first call was over {SLOW:.0f}x slower than fp32 ONNX Runtime"
            )
            continue
        fails = []
        cells = []
        for task in tasks:
            got = row.recall[task]
            cells.append(f"{'/'.join(f'{got[k]:.3f}' for k in sorted(got)):29s}")
            if any(abs(got[k] - base.recall[task][k]) > RECALL_TOLERANCE for k in got):
                fails.append(f"{task} recall")
            if row.overlaps[task] < MIN_OVERLAP:
                fails.append(f"{task} overlap")
        overlaps = "/".join(f"{row.overlaps[t]:.3f}" for t in tasks)
        extra = f"  digit agreement {row.agree:.3f}" if row.agree is not None else ""
        verdict = "ok" if not fails else "FAIL: " + ", ".join(fails)
        print(
            f"{row.label:34s} {row.speed:8.1f} {row.speed / base.speed:5.2f}x {row.speed / ort.speed:5.2f}x "
            f"{row.size_mb:5.1f}  {'  '.join(cells)}  {overlaps:14s}  {row.cosine:.4f}{extra}  {verdict}"
        )


def speed_of(run: Callable[[], object], batch: int, runs: int, rows: list[Row]) -> tuple[float, bool]:
    """Items/s of `run` (median of `runs` after a warm-up) and whether to rank it: not when its warm-up alone took
    over SLOW times fp32 ONNX Runtime's median (such a variant would not be chosen); then the speed is the warm-up's."""
    ort = next((r for r in rows if r.label == "onnxruntime fp32"), None)
    if ort is not None:
        started = time.perf_counter()
        run()
        first = time.perf_counter() - started
        if first > SLOW * batch / ort.speed:
            return batch / first, False
    return batch / median_seconds(run, runs), True


def encode_all(encode: Callable[[np.ndarray], np.ndarray], inputs: np.ndarray, batch: int) -> np.ndarray:
    """`encode` over `inputs` in batches of `batch`, concatenated."""
    return np.concatenate([encode(inputs[i : i + batch]) for i in range(0, len(inputs), batch)])


def use(encoder: "LiteEncoder", modality: str, runner: Runner | None) -> None:
    """Run `modality` with `runner` (None: eager torch) in `encoder`."""
    encoder._onnx = {} if runner is None else {modality: runner}  # type: ignore[dict-item]


def size_mb(runner: Runner | None, module: torch.nn.Module) -> float:
    """The ONNX file's size, or the torch module's parameter bytes, in MB."""
    path = getattr(runner, "path", None)
    if path is not None:
        return Path(path).stat().st_size / 1e6
    if isinstance(runner, OpenVinoTower):
        return float("nan")
    return sum(p.numel() * p.element_size() for p in module.parameters()) / 1e6


def forward(module: torch.nn.Module, runner: "Runner | None", inputs: np.ndarray) -> Callable[[], object]:
    """One pass of `runner` over `inputs` (None: eager torch `module`), as a call to time."""
    if runner is None:
        tensor = torch.from_numpy(inputs)

        def eager() -> None:
            with torch.inference_mode():
                module(tensor)

        return eager
    return lambda: runner(inputs)


def image_rows(
    encoder: "LiteEncoder", runners: dict[str, Runner | None], evals: dict, timing: np.ndarray, runs: int
) -> list[Row]:
    """Measure every image-tower runner: speed on `timing`, rankings on `evals` (task -> pixels, queries,
    positives)."""
    from retrieval.encoders.efficientnet import features_module

    module = features_module(encoder.tower)
    batch, rows, reference = len(timing), [], {}
    for label, runner in runners.items():
        speed, ranked = speed_of(forward(module, runner, timing), batch, runs, rows)
        if not ranked:
            rows.append(Row(label, speed, size_mb(runner, module), {}, {}, float("nan")))
            continue
        use(encoder, "image", runner)
        recall, overlaps, cosines = {}, {}, []
        for task, (pixels, queries, positives) in evals.items():
            vectors = encode_all(encoder.encode_image_batch, pixels, 32)
            scores = queries @ vectors.T
            reference.setdefault(task, (scores, vectors))
            recall[task] = recalls(scores, positives)
            overlaps[task] = overlap(reference[task][0], scores)
            cosines.append(np.sum(vectors * reference[task][1], axis=1))
        rows.append(Row(label, speed, size_mb(runner, module), recall, overlaps, float(np.concatenate(cosines).min())))
        print(f"  measured image: {label} ({time.strftime('%H:%M:%S')})", flush=True)
    use(encoder, "image", None)
    return rows


def audio_rows(
    encoder: "LiteEncoder",
    runners: dict[str, Runner | None],
    mels: np.ndarray,
    digits: np.ndarray,
    queries: np.ndarray,
    runs: int,
) -> list[Row]:
    """Measure every audio-tower runner: speed on the first 64 windows, zero-shot digits on all of `mels`."""
    module = encoder.audio_tower.eval()
    timing = mels[:64]
    rows: list[Row] = []
    reference: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    for label, runner in runners.items():
        speed, ranked = speed_of(forward(module, runner, timing), len(timing), runs, rows)
        if not ranked:
            rows.append(Row(label, speed, size_mb(runner, module), {}, {}, float("nan")))
            continue
        use(encoder, "audio", runner)
        vectors = encode_all(encoder.encode_audio_batch, mels, 64)
        scores = queries @ vectors.T
        predicted = np.argmax(scores, axis=0)
        if reference is None:
            reference = (scores, vectors, predicted)
        accuracy = float(np.mean(predicted == digits))
        rows.append(
            Row(
                label,
                speed,
                size_mb(runner, module),
                {"FSDD digits": {1: accuracy}},
                {"FSDD digits": overlap(reference[0], scores)},
                float(np.sum(vectors * reference[1], axis=1).min()),
                float(np.mean(predicted == reference[2])),
            )
        )
        print(f"  measured audio: {label} ({time.strftime('%H:%M:%S')})", flush=True)
    use(encoder, "audio", None)
    return rows


def working(runners: dict[str, Runner | Exception]) -> dict[str, Runner | None]:
    """The runners that were made, eager torch first; prints why the others are missing."""
    out: dict[str, Runner | None] = {"torch fp32 (eager)": None}
    for label, runner in runners.items():
        if isinstance(runner, Exception):
            print(f"  skipped {label}: {type(runner).__name__}: {str(runner).splitlines()[0][:200]}")
        else:
            out[label] = runner
    return out


def uptime() -> str:
    """`uptime` as printed."""
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--caltech", type=int, default=400, help="Caltech test-split photos to rank")
    parser.add_argument("--calibration", type=int, default=64, help="train-split photos / windows to calibrate on")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--towers", default="image,audio", help="comma-separated: image, audio")
    args = parser.parse_args()
    cache = Path(tempfile.mkdtemp(prefix="onnx-quantize-"))
    os.environ["MMSEARCH_CACHE"] = str(cache)
    from recipes.audio.data import fsdd_clips
    from recipes.audio.prompts import DIGIT_WORDS
    from retrieval.encoders.lite import LiteEncoder
    from retrieval.media.audio import load_audio
    from retrieval.media.image import load_image
    from retrieval.query.prompts import AUDIO_TEMPLATES
    from retrieval.query.zeroshot import build_classifier
    from retrieval.train.data import read_captions, read_labels, split_last

    print("load before:", uptime(), "| torch threads", torch.get_num_threads())
    threads = torch.get_num_threads()
    encoder = LiteEncoder()
    encoder.use_runtime("onnx")
    fp32 = {modality: tower.path for modality, tower in encoder._onnx.items()}
    print("fp32 exports:", {m: p.name for m, p in fp32.items()})
    transform = encoder.image_transform()

    towers = set(args.towers.split(","))
    if "image" in towers:

        def pixels(paths: list[Path]) -> np.ndarray:
            return np.stack([transform(load_image(p).convert("RGB")) for p in paths])

        caltech, classes = read_labels(args.data / "caltech101" / "labels.csv", "test")
        step = max(1, len(caltech.images) // args.caltech)
        photos = list(caltech.images)[::step][: args.caltech]
        photo_labels = [classes[int(g)] for g in caltech.image_group[::step][: args.caltech]]
        train, _ = read_labels(args.data / "caltech101" / "labels.csv", "train")
        calibration_photos = list(train.images)[:: max(1, len(train.images) // args.calibration)][: args.calibration]
        assert not set(calibration_photos) & set(photos)
        _, val = split_last(read_captions(args.data / "flickr8k_800" / "captions.csv"), 160)
        names = sorted(set(photo_labels))
        caltech_pixels = pixels(photos)
        evals = {
            "Flickr val t2i": (
                pixels(val.images),
                encoder.encode_texts(val.texts),
                [set(t) for t in val.text_targets()],
            ),
            "Caltech classes": (
                caltech_pixels,
                encoder.encode_texts([f"a photo of a {c.replace('_', ' ').lower()}." for c in names]),
                [{i for i, label in enumerate(photo_labels) if label == c} for c in names],
            ),
        }
        image_runners = variants(fp32["image"], pixels(calibration_photos), cache / "int8", threads)
        rows = image_rows(encoder, working(image_runners), evals, caltech_pixels[:128], args.runs)
        print_table("image tower (EfficientNet-Lite0), batch 128", "images/s", rows, list(evals))
        del image_runners

    if "audio" in towers:
        window = int(encoder.audio_sample_rate * encoder.audio_window_s)
        mel = encoder.audio_transform()

        def mels(paths: list[Path]) -> np.ndarray:
            waves = [load_audio(p, sample_rate=encoder.audio_sample_rate) for p in paths]
            return np.stack([mel(np.pad(w[:window], (0, max(0, window - len(w))))) for w in waves])

        clips = fsdd_clips(args.data)
        held = [c for c in clips if c.split == "val"]
        fit = [c for c in clips if c.split == "train"]
        fit = fit[:: max(1, len(fit) // args.calibration)][: args.calibration]
        eval_mels = mels([c.path for c in held])
        digits = np.array([DIGIT_WORDS.index(c.key) for c in held])
        queries = build_classifier(encoder.encode_texts, DIGIT_WORDS, AUDIO_TEMPLATES)
        audio_runners = variants(fp32["audio"], mels([c.path for c in fit]), cache / "int8", threads)
        rows = audio_rows(encoder, working(audio_runners), eval_mels, digits, queries, args.runs)
        print_table(
            f"audio tower (1-D CNN), batch 64; FSDD held-out speaker, {len(held)} clips; R@ column = digit accuracy",
            "windows/s",
            rows,
            ["FSDD digits"],
        )
    print("\nload after:", uptime())


if __name__ == "__main__":
    main()
