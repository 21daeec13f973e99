"""Matplotlib figures: feature maps, sweep sheets, PCA maps, training curves."""
