"""Pieces several methods share, so that each method file stays its paper's pseudo-code: the
joint-embedding views, projection heads, momentum (EMA) targets and multi-crop."""
