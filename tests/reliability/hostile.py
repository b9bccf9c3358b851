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

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
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
