"""The audio targets measured through the product path (`mmsearch eval` on the shipped lite model).

    .venv/bin/python -m benchmarks.audio_targets [--data ../shared/data]

Writes two CSVs into a temp folder and evaluates them exactly as a user would:
- FSDD held-out speaker `yweweler` (500 clips): zero-shot digits `zero`..`nine`, default audio templates;
- Asterisk held-out prompts (the 51 clips listed in retrieval/models/audio/config.json): text->audio R@1.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from pathlib import Path

from recipes.audio.data import asterisk_clips, fsdd_clips
from retrieval.encoders.registry import load_encoder
from retrieval.evaluation.runs import eval_retrieval, eval_zeroshot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    args = parser.parse_args()
    encoder = load_encoder("lite")
    with tempfile.TemporaryDirectory() as tmp:
        digits, prompts = Path(tmp) / "digits.csv", Path(tmp) / "prompts.csv"
        with open(digits, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "label"])
            writer.writerows((c.path, c.key) for c in fsdd_clips(args.data) if c.split == "val")
        with open(prompts, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["image", "caption"])
            writer.writerows((c.path, c.captions[0]) for c in asterisk_clips(args.data) if c.split == "val")
        zeroshot = eval_zeroshot(digits, encoder)
        retrieval = eval_retrieval(prompts, encoder)
    print(
        json.dumps(
            {
                "fsdd_yweweler_zeroshot": zeroshot,
                "asterisk_heldout_text_to_audio": retrieval["t2i"],
                "model": encoder.model_id,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
