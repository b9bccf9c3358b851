"""The lite image transform is computed with Pillow and numpy; it must give torchvision's tensors exactly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

from retrieval.encoders.pixel_transform import ResizeCropTransform


def torchvision_transform(image: Image.Image, image_size: int, crop_pct: float) -> torch.Tensor:
    """timm's evaluation transform as torchvision composes it."""
    resized = F.resize(image.convert("RGB"), int(round(image_size / crop_pct)), InterpolationMode.BICUBIC)
    return F.normalize(F.to_tensor(F.center_crop(resized, image_size)), [0.5] * 3, [0.5] * 3)


def test_equals_torchvision_on_real_photos(data_dir: Path) -> None:
    photos = sorted((data_dir / "caltech101" / "images").glob("*/*.jpg"))[::300]
    photos += [data_dir / "skimage_data" / "images" / name for name in ("astronaut.png", "camera.png", "coffee.png")]
    transform = ResizeCropTransform(260, 0.875)  # lite2's size; lite0's 224 is the shapes test's
    for path in photos:
        with Image.open(path) as image:
            assert torch.equal(torch.from_numpy(transform(image)), torchvision_transform(image, 260, 0.875)), path


@pytest.mark.parametrize("size", [(1, 1), (3, 500), (500, 3), (224, 224), (256, 300), (257, 256)])
def test_equals_torchvision_on_extreme_shapes(size: tuple[int, int]) -> None:
    image = Image.new("L", size, 77)
    assert torch.equal(torch.from_numpy(ResizeCropTransform()(image)), torchvision_transform(image, 224, 0.875))


def test_does_not_import_torchvision(data_dir: Path) -> None:
    code = (
        "import sys; from PIL import Image; from retrieval.encoders.pixel_transform import ResizeCropTransform\n"
        f"ResizeCropTransform()(Image.open({str(data_dir / 'skimage_data' / 'images' / 'coffee.png')!r}))\n"
        "print('torchvision' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
