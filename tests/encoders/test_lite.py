"""The lite encoder on real photos: ImageNet knowledge kept, text finds the right photo."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from retrieval.encoders.lite import LiteEncoder
from retrieval.errors import EncoderNotFoundError


def test_api_shape(lite_encoder: LiteEncoder):
    assert lite_encoder.model_id.startswith("lite-")
    assert lite_encoder.dim == 384
    assert lite_encoder.modalities == frozenset({"image", "text", "audio"})
    pickle.loads(pickle.dumps(lite_encoder.audio_transform()))
    pickle.loads(pickle.dumps(lite_encoder.image_transform()))
    vectors = lite_encoder.encode_texts(["a dog", "a cat"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert lite_encoder.logit_scale > 1


def test_cat_photo_is_tiger_cat_or_tabby(lite_encoder: LiteEncoder, data_dir: Path):
    from timm.data import ImageNetInfo

    image = Image.open(data_dir / "skimage_data" / "images" / "chelsea.png")
    pixels = lite_encoder.image_transform()(image.convert("RGB"))[None]
    _, logits = lite_encoder.image_features(torch.from_numpy(pixels))
    info = ImageNetInfo()
    top = [info.index_to_description(int(i)) for i in logits[0].topk(3).indices]
    assert any("tiger cat" in t or "tabby" in t for t in top), top


def test_airplane_text_is_nearest_to_the_airplane_photo(lite_encoder: LiteEncoder, data_dir: Path):
    caltech = data_dir / "caltech101" / "images"
    paths = [
        sorted((caltech / "airplanes").glob("*.jpg"))[0],
        data_dir / "skimage_data" / "images" / "chelsea.png",
        data_dir / "skimage_data" / "images" / "coffee.png",
        sorted((caltech / "dolphin").glob("*.jpg"))[0],
        sorted((caltech / "pizza").glob("*.jpg"))[0],
    ]
    images = lite_encoder.encode_images([Image.open(p) for p in paths])
    text = lite_encoder.encode_texts(["airplane"])
    assert int(np.argmax(text @ images.T)) == 0


def test_explicit_folder_without_config_is_an_error(tmp_path: Path):
    with pytest.raises(EncoderNotFoundError):
        LiteEncoder(weights_dir=tmp_path)


def test_numpy_heads_equal_the_torch_heads_they_are_trained_as(lite_encoder: LiteEncoder) -> None:
    """Inference runs the heads in numpy (`HeadArrays`); fine-tuning trains them as a torch module."""
    rng = np.random.default_rng(0)
    pooled = rng.standard_normal((8, lite_encoder.config.feature_dim)).astype(np.float32)
    logits = (4 * rng.standard_normal((8, 1000))).astype(np.float32)
    raw = rng.standard_normal((8, lite_encoder.dim)).astype(np.float32)
    heads = lite_encoder.heads
    assert heads.text_adapter is not None, "the shipped heads have a text adapter, so it is compared too"
    with torch.inference_mode():
        image = heads.image_vectors(torch.from_numpy(pooled), torch.from_numpy(logits)).numpy()
        text = heads.text_vectors(torch.from_numpy(raw)).numpy()
    arrays = lite_encoder.head_arrays
    np.testing.assert_allclose(arrays.image_vectors(pooled, logits), image, atol=1e-5)
    np.testing.assert_allclose(arrays.text_vectors(raw), text, atol=1e-5)
    assert arrays.logit_scale == pytest.approx(float(heads.logit_scale.exp()))
