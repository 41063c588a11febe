"""How good is a representation: embeddings, k-NN, the collapse monitor, UMAP, linear probes, fine-tuning.

Everything here takes a model and tensors; what opens a run folder is `workbench.inspection`."""
