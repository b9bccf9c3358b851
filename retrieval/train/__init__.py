"""Training of the lite model's heads: frozen-feature cache, contrastive loss, loop, fine-tuning."""
