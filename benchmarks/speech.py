"""Speech transcripts: accuracy, search and speed figures for docs/benchmarks.md and the speech model card.

    .venv/bin/python -m benchmarks.speech fsdd [--per-speaker 30] [--model base] [--speakers yweweler,theo]
    .venv/bin/python -m benchmarks.speech asterisk [--model base]
    .venv/bin/python -m benchmarks.speech speed [--minutes 10]
    .venv/bin/python -m benchmarks.speech memory [--minutes 60] [--model tiny.en]

`fsdd`: zero-shot digits per speaker, the audio tower alone vs fused with the transcript's evidence
(`retrieval.speech.evidence`), and the recogniser's word error rate (no hot words). `asterisk`: text->audio
R@1 over the held-out 20 % of the Asterisk prompts (recipes/audio/data.py's split), indexed without and
with transcripts, and the word error rate there. `speed`: a recording of Asterisk prompts joined with
pauses (built here, never stored) transcribed by tiny.en and base, plus short FSDD clips per second.
`memory`: peak RSS of `mmsearch transcribe` on a long recording (the 10-minute one repeated). Every run
prints `uptime` (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from recipes.audio.data import asterisk_clips, clean_transcript, fsdd_clips, text_key
from recipes.audio.prompts import DIGIT_WORDS
from retrieval.media.audio import load_audio
from retrieval.media.text import read_rows
from retrieval.speech.normalize import search_text
from retrieval.speech.transcriber import SAMPLE_RATE, SpeechOptions, Transcriber

REPO = Path(__file__).resolve().parent.parent


def english_text_path() -> None:
    """Embed every text through the English path: all texts here (prompts, digits, transcripts) are English,
    and a one-letter prompt such as "A." must not be sent to the multilingual tower by the language guesser."""
    from retrieval.encoders.lite import LiteEncoder

    LiteEncoder.encode_texts = lambda self, texts: self.encode_texts_in(texts, "en")  # type: ignore[method-assign]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference words) after `search_text` normalisation."""
    ref, hyp = search_text(reference).split(), search_text(hypothesis).split()
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[len(hyp)], len(ref)


def wer(pairs: list[tuple[str, str]]) -> float:
    errors = [word_errors(r, h) for r, h in pairs]
    return sum(e for e, _ in errors) / max(1, sum(n for _, n in errors))


def fsdd(data: Path, per_speaker: int, model: str, only: list[str]) -> None:
    from retrieval.encoders.registry import load_encoder
    from retrieval.query.embed import embed_inputs
    from retrieval.query.zeroshot import classify, default_templates, label_classifier
    from retrieval.speech.evidence import evidence_options, transcript_evidence

    encoder = load_encoder("lite")
    options = evidence_options(DIGIT_WORDS, model)
    engine = Transcriber(options)
    clips = fsdd_clips(data)
    speakers = only or sorted({c.path.name.split("_")[1] for c in clips})
    classifier = label_classifier(encoder, DIGIT_WORDS, default_templates("audio"))
    print(uptime())
    print("| speaker | clips | audio tower | transcript alone | fused | WER |")
    print("|---|---|---|---|---|---|")
    started = time.perf_counter()
    for speaker in speakers:
        chosen = [c for c in clips if c.path.name.split("_")[1] == speaker]
        chosen = _stratified(chosen, per_speaker)
        truth = [DIGIT_WORDS.index(c.key) for c in chosen]
        vectors = embed_inputs(encoder, [c.path for c in chosen])
        waves = [load_audio(c.path, SAMPLE_RATE) for c in chosen]
        evidence = transcript_evidence(encoder, waves, DIGIT_WORDS, options)
        acoustic = fused = alone = 0
        for n, digit in enumerate(truth):
            plain = classify(vectors[n : n + 1], classifier, encoder.logit_scale, 1, DIGIT_WORDS)[0][0].label
            both = classify(vectors[n : n + 1], classifier, encoder.logit_scale, 1, DIGIT_WORDS, evidence[n])
            acoustic += plain == DIGIT_WORDS[digit]
            fused += both[0][0].label == DIGIT_WORDS[digit]
            alone += evidence[n] is not None and int(np.argmax(evidence[n])) == digit
        heard = engine.transcribe_many(waves)
        error = wer([(c.key, " ".join(s.text for s in segs)) for c, segs in zip(chosen, heard)])
        k = len(chosen)
        print(f"| {speaker} | {k} | {acoustic / k:.3f} | {alone / k:.3f} | {fused / k:.3f} | {error:.3f} |", flush=True)
    print(f"model {model}, {time.perf_counter() - started:.0f} s; {uptime()}")


def _stratified(clips: list, per_speaker: int) -> list:
    """The first per_speaker/10 takes of each digit (file names end in the take number)."""
    take = max(1, per_speaker // len(DIGIT_WORDS))
    return [c for c in clips if int(c.path.stem.rsplit("_", 1)[1]) < take]


def asterisk(data: Path, model: str) -> None:
    from retrieval.engine import Engine
    from retrieval.types import IndexSettings

    held = [c for c in asterisk_clips(data) if c.split == "val"]
    texts = {
        str((data / "asterisk_prompts_en" / r["path"]).resolve()): clean_transcript(r["text"])
        for r in read_rows(data / "asterisk_prompts_en" / "transcripts.csv", ("path", "text"))
    }
    print(uptime())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "clips"
        folder.mkdir()
        names = {clip.path: "_".join(clip.path.parts[-2:]) for clip in held}
        for clip in held:  # flat copies of the held-out clips only
            shutil.copy(clip.path, folder / names[clip.path])
        keys = {names[clip.path]: clip.key for clip in held}
        for transcribe in (False, True):
            engine = Engine(Path(tmp) / f"db-{transcribe}")
            settings = IndexSettings(transcribe=transcribe, speech_model=model, language="en")
            started = time.perf_counter()
            engine.index([folder], settings)
            seconds = time.perf_counter() - started
            hits = 0
            for clip in held:
                top = engine.search(texts[str(clip.path.resolve())], k=1, modality="audio", lang="en")
                hits += bool(top) and keys[Path(top[0].path).name] == clip.key
            print(
                f"transcripts={transcribe}: R@1 {hits / len(held):.3f} over {len(held)} prompts, index {seconds:.1f} s"
            )
        engine = Transcriber(SpeechOptions(model=model, language="en"))
        heard = engine.transcribe_many([load_audio(c.path, SAMPLE_RATE) for c in held])
        pairs = [(texts[str(c.path.resolve())], " ".join(s.text for s in segs)) for c, segs in zip(held, heard)]
        exact = sum(text_key(r) == text_key(h) for r, h in pairs)
        print(f"model {model}: WER {wer(pairs):.3f}, exact {exact}/{len(pairs)}; {uptime()}")


def long_recording(data: Path, minutes: float) -> np.ndarray:
    """Asterisk prompts in turn, each followed by a 1-2.5 s pause, cut to `minutes`."""
    rng = np.random.default_rng(0)
    clips = [load_audio(c.path, SAMPLE_RATE) for c in asterisk_clips(data)]
    parts, total, n = [], 0, 0
    while total < minutes * 60 * SAMPLE_RATE:
        pause = np.zeros(int(rng.uniform(1.0, 2.5) * SAMPLE_RATE), np.float32)
        parts += [clips[n % len(clips)], pause]
        total += len(clips[n % len(clips)]) + len(pause)
        n += 1
    return np.concatenate(parts)[: int(minutes * 60 * SAMPLE_RATE)]


def speed(data: Path, minutes: float) -> None:
    recording = long_recording(data, minutes)
    fsdd_waves = [load_audio(c.path, SAMPLE_RATE) for c in fsdd_clips(data)[::47][:64]]
    print(f"recording {len(recording) / SAMPLE_RATE:.0f} s")
    for model in ("tiny.en", "base"):
        engine = Transcriber(SpeechOptions(model=model, language="en"))
        load = uptime()
        started, cpu = time.perf_counter(), time.process_time()
        segments = list(engine.stream(recording))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"{model}: {cpu:.1f} CPU s, {2 * len(recording) / SAMPLE_RATE / cpu:.1f}x real time on 2 free cores")
        print(
            f"{model}: {len(recording) / SAMPLE_RATE / seconds:.1f}x real time ({seconds:.1f} s, "
            f"{len(segments)} segments); before: {load}; after: {uptime()}",
            flush=True,
        )
        started, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(fsdd_waves), 8):  # as the index's load stage: 8 files per batch
            engine.transcribe_many(fsdd_waves[i : i + 8])
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"{model}: {cpu:.1f} CPU s, {2 * len(fsdd_waves) / cpu:.2f} clips/s on 2 free cores")
        print(f"{model}: {len(fsdd_waves) / seconds:.2f} FSDD clips/s; {uptime()}", flush=True)


def memory(data: Path, minutes: float, model: str) -> None:
    import soundfile as sf

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        ten = long_recording(data, 10)
        with sf.SoundFile(str(path), "w", SAMPLE_RATE, 1, "PCM_16") as out:
            for _ in range(int(minutes // 10)):
                out.write(ten)
        print(uptime())
        started = time.perf_counter()
        command = [
            str(REPO / ".venv/bin/mmsearch"),
            "transcribe",
            str(path),
            "--speech-model",
            model,
            "--language",
            "en",
            "--format",
            "json",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        count = len(json.loads(done.stdout)["segments"])
        print(
            f"{minutes:.0f} min, {model}: peak RSS {peak:.0f} MB, {seconds:.0f} s "
            f"({minutes * 60 / seconds:.1f}x real time), {count} segments; {uptime()}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("job", choices=("fsdd", "asterisk", "speed", "memory"))
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--model", default="base")
    parser.add_argument("--per-speaker", type=int, default=30)
    parser.add_argument("--minutes", type=float, default=None)
    parser.add_argument("--speakers", default="", help="fsdd: comma-separated speakers (default: all six)")
    args = parser.parse_args()
    english_text_path()
    if args.job == "fsdd":
        fsdd(args.data, args.per_speaker, args.model, [s for s in args.speakers.split(",") if s])
    elif args.job == "asterisk":
        asterisk(args.data, args.model)
    elif args.job == "speed":
        speed(args.data, args.minutes or 10)
    else:
        memory(args.data, args.minutes or 60, args.model if args.model != "base" else "tiny.en")


if __name__ == "__main__":
    sys.exit(main())
