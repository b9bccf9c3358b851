"""Audio tower: decoding, windowing, log-mel features and the speech-to-MiniLM model."""
