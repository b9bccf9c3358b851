"""Deterministic light augmentation for feature caching: random resized crop and flip."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from PIL import Image


@dataclass(frozen=True)
class AugmentTransform:
    """Picklable PIL -> tensor transform whose randomness depends only on (seed, key)."""

    image_size: int = 224
    min_scale: float = 0.5
    seed: int = 0

    def __call__(self, image: "Image.Image", key: int = 0) -> "torch.Tensor":
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms import functional as F

        rng = random.Random(self.seed * 1_000_003 + key)
        image = image.convert("RGB")
        width, height = image.size
        top, left, h, w = 0, 0, height, width
        for _ in range(10):
            area = width * height * rng.uniform(self.min_scale, 1.0)
            ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
            cw, ch = int(round(math.sqrt(area * ratio))), int(round(math.sqrt(area / ratio)))
            if 0 < cw <= width and 0 < ch <= height:
                top, left, h, w = rng.randint(0, height - ch), rng.randint(0, width - cw), ch, cw
                break
        size = [self.image_size, self.image_size]
        image = F.resized_crop(image, top, left, h, w, size, interpolation=InterpolationMode.BICUBIC)
        if rng.random() < 0.5:
            image = F.hflip(image)
        return F.normalize(F.to_tensor(image), [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])
