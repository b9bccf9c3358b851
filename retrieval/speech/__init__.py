"""Speech recognition (optional `speech` extra): Whisper through faster-whisper, imported lazily.

`models.py` resolves and hash-checks the weights, `transcriber.py` turns 16 kHz mono samples into
timed `Segment`s (VAD, batching, hallucination guards), `normalize.py` is the text form searches use.
"""
