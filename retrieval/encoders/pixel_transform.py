"""The evaluation transform of an image tower, in Pillow and numpy: short side resized, centre crop, normalised."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import Image


@dataclass(frozen=True)
class ResizeCropTransform:
    """Picklable PIL -> float32 (3, image_size, image_size): bicubic resize of the short side to
    `image_size / crop_pct`, centre crop, scale to [0, 1], then `(x - mean) / std` per channel. The defaults
    are EfficientNet-Lite's (crop 0.875, mean = std = 0.5, so [-1, 1]); OpenCLIP's standard transform is
    crop 1.0 with CLIP's mean and std."""

    image_size: int = 224
    crop_pct: float = 0.875
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)

    def __call__(self, image: "Image.Image") -> np.ndarray:
        """The same pixels as torchvision's Resize(short side, bicubic), CenterCrop, ToTensor, Normalize, as
        a float32 (3, H, W) array computed with Pillow and numpy alone: importing torchvision costs each
        decode worker a second or more, ONNX Runtime needs no torch at all, and torchvision's tensor ops
        share torch's threads with the tower."""
        from PIL import Image

        if image.mode != "RGB":
            image = image.convert("RGB")
        width, height = image.size
        crop = self.image_size
        short_target = int(round(crop / self.crop_pct))
        short, long = sorted((width, height))
        size = (short_target, int(short_target * long / short))
        size = size if width <= height else size[::-1]
        top = int(round((size[1] - crop) / 2.0))
        left = int(round((size[0] - crop) / 2.0))
        if size != (width, height):
            image = image.resize(size, Image.Resampling.BICUBIC)
        pixels = np.asarray(image.crop((left, top, left + crop, top + crop)))
        table = _normalised_levels(self.mean, self.std)
        out = np.empty((3, crop, crop), dtype=np.float32)
        for channel in range(3):
            np.take(table[channel], pixels[:, :, channel], out=out[channel])
        return out


@lru_cache(maxsize=8)
def _normalised_levels(mean: tuple[float, float, float], std: tuple[float, float, float]) -> np.ndarray:
    """(3, 256) float32: each 8-bit level of each channel as `(level / 255 - mean) / std`, computed with
    the same float32 operations as torchvision's ToTensor and Normalize, so a lookup gives their values
    bit for bit at a third of the cost. Read-only: it is shared by every call."""
    levels = np.arange(256, dtype=np.float32)[None, :] / np.float32(255)
    table = (levels - np.asarray(mean, dtype=np.float32)[:, None]) / np.asarray(std, dtype=np.float32)[:, None]
    table.setflags(write=False)
    return table
