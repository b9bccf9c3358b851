"""Speech transcripts: accuracy, search and speed figures for docs/benchmarks.md and the speech model card.

    .venv/bin/python -m benchmarks.speech fsdd [--per-speaker 30] [--model base] [--speakers yweweler,theo]
    .venv/bin/python -m benchmarks.speech asterisk [--model base]
    .venv/bin/python -m benchmarks.speech speed [--minutes 10]
    .venv/bin/python -m benchmarks.speech memory [--minutes 60] [--model tiny.en]
    .venv/bin/python -m benchmarks.speech queries

`fsdd`: zero-shot digits per speaker, the audio tower alone vs fused with the transcript's evidence
(`retrieval.speech.evidence`), and the recogniser's word error rate (no hot words). `asterisk`: text->audio
R@1 over the held-out 20 % of the Asterisk prompts (recipes/audio/data.py's split), indexed without and
with transcripts, each with the queries as typed and as searches embed them (`query_text`), and the word
error rate there, short clips packed into shared windows and each alone. `speed`: a recording of Asterisk
prompts joined with pauses (built here, never stored) transcribed by tiny.en and base, plus short FSDD clips
per second, packed (as the index's load stage) and each alone, and how many got the same words both ways.
`memory`: peak RSS of `mmsearch index` (audio windows and transcripts) of a long recording (the 10-minute
one repeated). `queries`: Flickr text->image recall with the captions as typed and as
`query_text` normalises them (the check that non-speech queries lose nothing). Every run prints `uptime`
(the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from recipes.audio.data import asterisk_clips, clean_transcript, fsdd_clips, text_key
from recipes.audio.prompts import DIGIT_WORDS
from retrieval.ingest.load import LOAD_BATCH
from retrieval.media.audio import load_audio
from retrieval.media.text import read_rows
from retrieval.query.embed import query_text
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
            recall = {}
            for form in ("typed", "normalised"):
                hits = 0
                for clip in held:
                    query = texts[str(clip.path.resolve())]
                    as_typed = engine.encoder.encode_texts_in([query], "en")[0]
                    top = engine.search(query if form == "normalised" else as_typed, k=1, modality="audio", lang="en")
                    hits += bool(top) and keys[Path(top[0].path).name] == clip.key
                recall[form] = f"{hits / len(held):.3f}"
            print(
                f"transcripts={transcribe}: R@1 {recall['normalised']} (queries as typed: {recall['typed']}) over "
                f"{len(held)} prompts, index {seconds:.1f} s; {uptime()}",
                flush=True,
            )
        engine = Transcriber(SpeechOptions(model=model, language="en"))
        waves = [load_audio(c.path, SAMPLE_RATE) for c in held]
        for pack in (True, False):
            heard = [
                s
                for i in range(0, len(waves), LOAD_BATCH)
                for s in engine.transcribe_many(waves[i : i + LOAD_BATCH], pack=pack)
            ]
            pairs = [(texts[str(c.path.resolve())], " ".join(s.text for s in segs)) for c, segs in zip(held, heard)]
            exact = sum(text_key(r) == text_key(h) for r, h in pairs)
            print(f"model {model}, packed={pack}: WER {wer(pairs):.3f}, exact {exact}/{len(pairs)}; {uptime()}")


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
        heard = {}
        for pack in (True, False):
            started, cpu = time.perf_counter(), time.process_time()
            heard[pack] = [  # as the index's load stage: LOAD_BATCH files per call
                s
                for i in range(0, len(fsdd_waves), LOAD_BATCH)
                for s in engine.transcribe_many(fsdd_waves[i : i + LOAD_BATCH], pack=pack)
            ]
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(
                f"{model}, packed={pack}: {len(fsdd_waves) / seconds:.2f} FSDD clips/s ({seconds:.1f} s, "
                f"{LOAD_BATCH} per call), {cpu:.1f} CPU s = {2 * len(fsdd_waves) / cpu:.2f} clips/s on 2 free cores; "
                f"{uptime()}",
                flush=True,
            )
        same = sum(_words(a) == _words(b) for a, b in zip(heard[True], heard[False]))
        print(f"{model}: {same}/{len(fsdd_waves)} clips got the same words packed and alone", flush=True)


def _words(segments: list) -> str:
    return search_text(" ".join(s.text for s in segments))


def memory(data: Path, minutes: float, model: str) -> None:
    """Peak RSS of `mmsearch index` of one file of `minutes` (the 10-minute recording written again and again,
    never held whole here), without and with transcripts (what transcription adds)."""
    import soundfile as sf

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "long"
        folder.mkdir()
        ten = long_recording(data, 10)
        with sf.SoundFile(str(folder / "long.wav"), "w", SAMPLE_RATE, 1, "PCM_16") as out:
            for _ in range(int(minutes // 10)):
                out.write(ten)
        del ten
        command = [str(REPO / ".venv/bin/mmsearch"), "index", str(folder), "--json"]
        speech = ["--speech-model", model, "--language", "en"]
        for name, extra in (("audio windows only", ["--no-transcribe"]), ("windows and transcripts", speech)):
            print(uptime(), flush=True)
            started = time.perf_counter()
            done, peak, own = _peak_rss([*command, "--db", str(Path(tmp) / name.replace(" ", "-")), *extra])
            seconds = time.perf_counter() - started
            print(
                f"index of a {minutes:.0f} min file, {name} ({model}): peak RSS {peak:.0f} MB (its processes "
                f"together), each process's peak {', '.join(f'{mb:.0f}' for mb in own[:4])} MB, {seconds:.0f} s "
                f"({minutes * 60 / seconds:.1f}x real time), {json.loads(done)['new']} new file; {uptime()}",
                flush=True,
            )


def _peak_rss(command: list[str]) -> tuple[str, float, list[float]]:
    """Run `command`: its stdout, the peak of the summed RSS of it and its descendants (its decode workers;
    pages a forked worker shares are counted twice) sampled every 0.2 s from /proc, and each process's own
    peak (VmHWM), all in MB."""
    with tempfile.TemporaryFile("w+") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, text=True)
        peak, own = 0.0, dict[int, float]()
        while child.poll() is None:
            pids = _tree(child.pid)
            peak = max(peak, sum(_status_mb(pid, "VmRSS") for pid in pids))
            own.update({pid: max(own.get(pid, 0.0), _status_mb(pid, "VmHWM")) for pid in pids})
            time.sleep(0.2)
        if child.returncode:
            raise SystemExit(f"{command[1]} failed with exit code {child.returncode}")
        out.seek(0)
        return out.read(), peak, sorted(own.values(), reverse=True)


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo += [int(c) for c in task.read_text().split()]
            except OSError:
                continue
    return pids


def _status_mb(pid: int, field: str) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next((row for row in status.splitlines() if row.startswith(f"{field}:")), f"{field}: 0 kB")
    return int(line.split()[1]) / 1024


def queries(data: Path) -> None:
    """Flickr text->image recall, captions as typed vs through `query_text` (what `Engine.search` embeds)."""
    from retrieval.encoders.registry import load_encoder
    from retrieval.evaluation.metrics import text_to_image_recall
    from retrieval.evaluation.runs import encode_files

    folder = data / "flickr8k_800"
    rows = read_rows(folder / "captions.csv", ("image", "caption"))
    names = sorted({row["image"] for row in rows})
    encoder = load_encoder("lite")
    print(uptime(), flush=True)
    images = encode_files(encoder, [folder / n for n in names])
    truth = np.array([names.index(row["image"]) for row in rows])
    captions = [row["caption"] for row in rows]
    changed = sum(query_text(c) != c for c in captions)
    for form, texts in (("typed", captions), ("normalised", [query_text(c) for c in captions])):
        recall = text_to_image_recall(encoder.encode_texts(texts), images, truth)
        print(f"Flickr t2i, {len(rows)} captions as {form} ({changed} differ): {recall}; {uptime()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("job", choices=("fsdd", "asterisk", "speed", "memory", "queries"))
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
    elif args.job == "memory":
        memory(args.data, args.minutes or 60, args.model if args.model != "base" else "tiny.en")
    else:
        queries(args.data)


if __name__ == "__main__":
    sys.exit(main())
