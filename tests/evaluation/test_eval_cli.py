"""`mmsearch eval` commands through typer's CliRunner on small real subsets."""

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.eval_commands import eval_app

runner = CliRunner()


def test_eval_retrieval_json(captions_subset: Path):
    result = runner.invoke(eval_app, ["retrieval", "--captions", str(captions_subset), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n_images"] == 12 and report["n_texts"] == 60
    assert report["model"].startswith("lite-")
    for direction in ("t2i", "i2t"):
        assert set(report[direction]) == {"R@1", "R@5", "R@10"}
        assert 0 <= report[direction]["R@1"] <= report[direction]["R@5"] <= report[direction]["R@10"] <= 1


def test_eval_zeroshot_json_with_templates(labels_subset: Path):
    templates = ["--template", "a photo of a {}.", "--template", "a {}."]
    args = ["zeroshot", "--labels", str(labels_subset), *templates, "--json"]
    result = runner.invoke(eval_app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"model", "n", "classes", "top1", "top5"}
    assert report["n"] == 12 and report["classes"] == 4
    assert report["top1"] >= 0.5 and report["top5"] == 1.0


def test_eval_error_is_one_line_and_exit_1(tmp_path: Path):
    result = runner.invoke(eval_app, ["zeroshot", "--labels", str(tmp_path / "missing.csv")])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
