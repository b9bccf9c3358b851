import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from retrieval.errors import MediaDecodeError
from retrieval.media.audio import load_audio, resample


def test_fsdd_wav_decodes_at_16k(fsdd_dir: Path) -> None:
    path = fsdd_dir / "7_yweweler_3.wav"
    n_8k = sf.info(str(path)).frames
    wave = load_audio(path)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert wave.shape[0] == 2 * n_8k
    assert 0.01 < np.abs(wave).max() <= 1.5


def test_stereo_44k_is_mixed_down_and_resampled(tmp_path: Path) -> None:
    sr = 44_100
    t = np.arange(sr) / sr
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    stereo = np.stack([tone, tone], axis=1)
    path = tmp_path / "stereo.flac"
    sf.write(str(path), stereo, sr)
    wave = load_audio(path, sample_rate=16_000)
    assert wave.shape == (16_000,)
    spectrum = np.abs(np.fft.rfft(wave))
    assert abs(int(spectrum.argmax()) - 440) <= 1


@pytest.mark.parametrize("content", [b"", b"RIFF\x24\x00\x00\x00WAVEfmt ", b"not audio at all" * 64])
def test_broken_files_raise(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(content)
    with pytest.raises(MediaDecodeError):
        load_audio(path)


def test_silent_wav_raises(tmp_path: Path) -> None:
    path = tmp_path / "silent.wav"
    sf.write(str(path), np.zeros(8000, dtype=np.float32), 8000, subtype="PCM_16")
    with pytest.raises(MediaDecodeError, match="silent"):
        load_audio(path)


def _noisy_chirp(seconds: float, sr: int) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    noise = 0.05 * np.random.default_rng(0).standard_normal(t.size)
    return (0.3 * np.sin(2 * np.pi * (200 + 30 * t) * t) + noise).astype(np.float32)


def test_long_file_is_resampled_block_by_block_like_the_whole_file(tmp_path: Path) -> None:
    sr = 44_100
    mono = _noisy_chirp(25, sr)  # three 10 s blocks, the last one partial
    path = tmp_path / "long.flac"
    sf.write(str(path), np.stack([mono, 0.5 * mono], axis=1), sr)
    wave = load_audio(path, sample_rate=16_000)
    whole = resample(0.75 * mono, sr, 16_000)
    assert wave.shape == whole.shape == (25 * 16_000,)
    # the whole-file FFT wraps around at its ends, so compare away from them
    interior = slice(16_000, -16_000)
    assert np.abs(wave[interior] - whole[interior]).max() < 1e-3


def test_long_file_decodes_in_bounded_memory(tmp_path: Path) -> None:
    sr = 44_100
    seconds = 300
    path = tmp_path / "five-minutes.flac"
    with sf.SoundFile(str(path), "w", sr, 2) as handle:
        for _ in range(seconds // 60):
            handle.write(np.stack([_noisy_chirp(60, sr)] * 2, axis=1))
    decoded_stereo_bytes = seconds * sr * 2 * 4
    tracemalloc.start()
    try:
        wave = load_audio(path, sample_rate=16_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert wave.shape == (seconds * 16_000,)
    assert peak < 0.75 * decoded_stereo_bytes, f"peak {peak / 1e6:.0f} MB"


def test_non_finite_samples_raise(tmp_path: Path) -> None:
    wave = np.full(8000, 0.1, dtype=np.float32)
    wave[100] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(str(path), wave, 8000, subtype="FLOAT")
    with pytest.raises(MediaDecodeError, match="non-finite"):
        load_audio(path)
