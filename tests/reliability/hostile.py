"""Hostile files, made cheaply from real data: corrupt and truncated files, decompression bombs, odd
modes, EXIF orientations, lying WAV headers, special files and symbolic links."""

from __future__ import annotations

import os
import socket
import stat
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

ORIENTATIONS = {
    # EXIF orientation -> the pixels a camera stores for an upright scene (numpy, independent of Pillow)
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: np.rot90(a, 2),
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, 1),
    7: lambda a: np.rot90(a, 2).transpose(1, 0, 2),
    8: lambda a: np.rot90(a, -1),
}


def oriented_jpeg(upright: np.ndarray, orientation: int, out: Path) -> Path:
    """A JPEG whose pixels are stored as a camera held at `orientation` stores them, tagged so."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(np.ascontiguousarray(ORIENTATIONS[orientation](upright))).save(out, quality=95, exif=exif)
    return out


def png_bomb(out: Path, width: int = 20_000, height: int = 10_000) -> Path:
    """A valid 1-bit PNG of width x height (200 MP) whose compressed data is a few kB."""
    return _blank_png(out, width, height, depth=1, colour=0, row=b"\x00" * (1 + (width + 7) // 8))


def slow_png(out: Path, width: int = 6_000, height: int = 6_000) -> Path:
    """A black RGB PNG (36 MP, about 120 kB) whose every row is Paeth-filtered: the slowest filter to undo,
    so it decodes for about a second on a quiet core (and takes 144 MB)."""
    return _blank_png(out, width, height, depth=8, colour=2, row=b"\x04" + b"\x00" * (3 * width))


def _blank_png(out: Path, width: int, height: int, depth: int, colour: int, row: bytes) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    out.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return out


def jpeg_bomb(real_jpeg: Path, out: Path, width: int = 20_000, height: int = 10_000) -> Path:
    """A real JPEG whose frame header (SOF0) claims width x height."""
    data = bytearray(real_jpeg.read_bytes())
    sof = next(i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC1, 0xC2))
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    out.write_bytes(bytes(data))
    return out


def lying_wav(real_wav: Path, out: Path) -> Path:
    """A real WAV whose RIFF and data chunk sizes claim about 2 GB."""
    data = bytearray(real_wav.read_bytes())
    data[4:8] = struct.pack("<I", 0x7FFFFFF0)
    at = data.index(b"data")
    data[at + 4 : at + 8] = struct.pack("<I", 0x7FFFFF00)
    out.write_bytes(bytes(data))
    return out


def animated(first: Image.Image, second: Image.Image, out: Path) -> Path:
    """A two-frame animation (GIF or WebP by `out`'s suffix)."""
    first.save(out, save_all=True, append_images=[second], duration=100, loop=0)
    return out


def special_files(folder: Path) -> list[Path]:
    """A FIFO, a Unix socket and a character device, each named like a photo or a sound."""
    fifo, sock, device = folder / "fifo.jpg", folder / "socket.png", folder / "device.wav"
    os.mkfifo(fifo)
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock))
    server.close()
    os.mknod(device, 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # /dev/zero: a read of it never ends
    return [fifo, sock, device]


def cmyk_of(rgb: np.ndarray) -> np.ndarray:
    """Ink amounts (C, M, Y, K; 0 = none) of `rgb` with half its grey taken by black, so K carries content."""
    rgb = rgb.astype(np.int16)
    black = (255 - rgb.max(axis=-1, keepdims=True)) // 2
    return np.concatenate([255 - rgb - black, black], axis=-1).astype(np.uint8)


def ycck_jpeg(rgb: np.ndarray, out: Path, quality: int = 95) -> Path:
    """An Adobe YCCK JPEG of `rgb` (as the inks of `cmyk_of`), which Pillow cannot write itself.

    A YCCK decoder turns components (Y, Cb, Cr) into R, G, B and outputs C = 255 - R (Adobe stores
    inks inverted), K as stored. So the components to store are the JFIF YCbCr of the inks (C, M, Y) and
    255 - K. Pillow writes CMYK JPEGs inverted (stored = 255 - value) with an Adobe APP14 marker whose
    transform is 0 (CMYK): saving 255 - those components as "CMYK" and setting the transform to 2 makes
    the file YCCK, coefficients and all.
    """
    inks = cmyk_of(rgb).astype(np.float64)
    c, m, y = inks[..., 0], inks[..., 1], inks[..., 2]
    luma = 0.299 * c + 0.587 * m + 0.114 * y
    stored = np.stack(
        [luma, 128 + (y - luma) / 1.772, 128 + (c - luma) / 1.402, 255 - inks[..., 3]], axis=-1
    )  # JFIF: Cb = 128 + (B - Y) / 1.772, Cr = 128 + (R - Y) / 1.402
    pixels = (255 - np.clip(np.rint(stored), 0, 255)).astype(np.uint8)
    Image.fromarray(pixels, "CMYK").save(out, quality=quality)
    data = bytearray(out.read_bytes())
    adobe = data.index(b"\xff\xee\x00\x0eAdobe")  # APP14, length 14
    assert data[adobe + 15] == 0, "Pillow no longer writes CMYK with transform 0"
    data[adobe + 15] = 2  # after FF EE, length, "Adobe", version, flags0, flags1: the transform byte
    out.write_bytes(bytes(data))
    return out


def long_wav(out: Path, seconds: int, rate: int = 16_000, tone_every_s: int = 60) -> Path:
    """A 16-bit mono WAV of `seconds` (a whole number of minutes): silence with one second of a 440 Hz tone
    at the start of every minute, written a minute at a time (2 hours: 230 MB in about 4 s)."""
    import soundfile as sf

    minute = np.zeros(rate * tone_every_s, np.float32)
    minute[:rate] = 0.5 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)
    with sf.SoundFile(out, "w", samplerate=rate, channels=1, subtype="PCM_16") as handle:
        for _ in range(seconds // tone_every_s):
            handle.write(minute)
    return out
