import numpy as np
import pytest

from retrieval.media.audio import split_windows


def test_long_file_windows_cover_it_exactly() -> None:
    sr = 16_000
    wave = np.random.default_rng(0).standard_normal(int(7.3 * sr)).astype(np.float32)
    windows = split_windows(wave, sr, window_s=2.0, hop_s=1.0)
    assert [w.start_s for w in windows] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 5.3]
    assert windows[-1].end_s == pytest.approx(7.3)
    for w in windows:
        assert w.end_s - w.start_s == pytest.approx(2.0)
        start = round(w.start_s * sr)
        np.testing.assert_array_equal(w.samples, wave[start : start + 2 * sr])


def test_short_file_is_one_window() -> None:
    wave = np.ones(12_000, dtype=np.float32)
    (window,) = split_windows(wave, 16_000, window_s=2.0, hop_s=1.0)
    assert (window.start_s, window.end_s) == (0.0, 0.75)
    assert window.samples.shape == (12_000,)


def test_bad_lengths_raise() -> None:
    with pytest.raises(ValueError):
        split_windows(np.ones(10, dtype=np.float32), 16_000, window_s=0.0, hop_s=1.0)
