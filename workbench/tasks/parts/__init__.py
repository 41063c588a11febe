"""Pieces several methods share, so that each method file stays its paper's pseudo-code: the joint-embedding
views (`views`) and two-view skeleton (`two_views`), multi-crop (`crops`), projection heads (`heads`), momentum
(EMA) targets (`momentum`), the reconstruction decoders and their targets (`decoders`, `reconstruction`), the
tiles of jigsaw and relative position (`tiles`) and DeepCluster's clustering toolkit (`clustering`)."""
