"""`python -m recipes.audio`: rebuild retrieval/models/audio (see recipes/audio/train.py)."""

from recipes.audio.train import main

raise SystemExit(main())
