"""Speech fixtures: clips spoken by espeak-ng (installed from Debian) and written as 16 kHz WAV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.fixtures.speech import SAMPLE_RATE, speak


@pytest.fixture(scope="session")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with two espeak-ng recordings and one real FSDD clip's worth of tone (no speech)."""
    folder = tmp_path_factory.mktemp("spoken")
    speak("Please send the invoice to the accounting office before Friday.", folder / "invoice.wav")
    speak("The weather tomorrow will be sunny and warm.", folder / "weather.wav")
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    sf.write(folder / "tone.wav", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), SAMPLE_RATE)
    return folder
