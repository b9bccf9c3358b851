"""Speech recognition (optional `speech` extra): Whisper through faster-whisper, imported lazily.

`models.py` resolves and hash-checks the weights, `source.py` reads a file's sound (whole, or block by block
for a long one), `transcriber.py` turns 16 kHz mono samples into timed `Segment`s (VAD, batching, hallucination
guards), `packing.py` lays many short clips' speech into shared windows, `normalize.py` is the text form
searches use.
"""
