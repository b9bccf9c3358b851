"""The recipe of the shipped audio tower (`python -m recipes.audio`): clips, synthetic voices, training, metrics."""
