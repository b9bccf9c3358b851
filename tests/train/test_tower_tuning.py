"""Training the tower's last blocks: LoRA merge, the saved model reproducing the trained function, finetune modes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from retrieval.encoders.efficientnet import load_tower, trunk_activations
from retrieval.encoders.lite import LiteConfig, LiteEncoder, build_heads, save_heads
from retrieval.media.image import load_image
from retrieval.train.finetune import FinetuneSettings, finetune
from retrieval.train.lora import LoRAConv1x1, add_lora, merge_lora
from retrieval.train.tower_tuning import TailHeads, trainable_tail, tuned_tower_state


def test_merged_lora_equals_the_wrapped_convolution():
    torch.manual_seed(0)
    block = torch.nn.Sequential(torch.nn.Conv2d(8, 16, 1, bias=False), torch.nn.ReLU(), torch.nn.Conv2d(16, 4, 3))
    add_lora(block, rank=2)
    assert isinstance(block[0], LoRAConv1x1) and not isinstance(block[2], LoRAConv1x1)  # 3x3 stays as it is
    assert [n for n, p in block.named_parameters() if p.requires_grad] == ["0.down.weight", "0.up.weight"]
    with torch.no_grad():
        block[0].up.weight.normal_()
    x = torch.randn(2, 8, 5, 5)
    wrapped = block(x)
    merge_lora(block)
    assert isinstance(block[0], torch.nn.Conv2d)
    torch.testing.assert_close(block(x), wrapped, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_saved_tuned_tower_reproduces_the_trained_function(tmp_path: Path, data_dir: Path):
    """Train-time vectors (cached trunk activations -> LoRA tail -> heads) equal the loaded encoder's vectors."""
    torch.manual_seed(0)
    config = LiteConfig(model_id="lite-tuned-test", text_adapter=True, weights="w.safetensors", tuned_blocks=2)
    heads = build_heads(config)
    tower = load_tower()
    model = TailHeads(trainable_tail(tower, 2, lora_rank=4), heads)
    with torch.no_grad():
        for param in model.parameters():
            if param.requires_grad:
                param.add_(0.05 * torch.randn_like(param))
    encoder = LiteEncoder()
    paths = sorted((data_dir / "skimage_data" / "images").glob("*.png"))[:3]
    pixels = np.stack([encoder.image_transform()(load_image(p)) for p in paths])
    with torch.inference_mode():
        expected = model.image_vectors(trunk_activations(tower, torch.from_numpy(pixels), 2), logits=None).numpy()
    save_heads(tmp_path, heads, config, tuned_tower_state(tower, model.tail, 2))
    loaded = LiteEncoder(weights_dir=tmp_path)
    np.testing.assert_allclose(loaded.encode_image_batch(pixels), expected, atol=1e-4)
    assert not np.allclose(encoder.encode_image_batch(pixels), expected, atol=1e-3)


@pytest.mark.parametrize("mode", ["last-n-blocks", "lora"])
def test_finetune_tower_modes_save_the_tuned_blocks(mode: str, tmp_path: Path, captions_subset: Path):
    out = tmp_path / "tuned"
    report = finetune(
        FinetuneSettings(
            out=out,
            pairs=captions_subset,
            train=mode,
            blocks=1,
            epochs=2,
            batch_size=16,
            val_fraction=0.25,
            cache_dir=tmp_path / "cache",
        )
    )
    config = json.loads((out / "config.json").read_text())
    assert config["tuned_blocks"] == 1 and config["extra"]["finetune"]["train"] == mode
    saved = load_file(str(out / config["weights"]))
    tower_keys = {k.removeprefix("tower.") for k in saved if k.startswith("tower.")}
    assert tower_keys and all(k.startswith(("blocks.6.0.", "conv_head.", "bn2.")) for k in tower_keys)
    encoder = LiteEncoder(weights_dir=out)
    assert encoder.model_id.startswith(report.model_id)
    loaded = encoder.tower.state_dict()
    assert all(torch.equal(loaded[k], saved["tower." + k]) for k in tower_keys)
