"""A text run put to work on what the user types: continue a prompt (a next-token model writes), find the texts
nearest to a sentence in the run's feature space, and the attention a sentence draws, layer by layer.

Each opens the run's latest checkpoint, so while a run trains it answers with the weights of its last epoch.
"""

from functools import lru_cache
from pathlib import Path

import torch

from ..data import load_run_data
from ..data.text.tokens import decode, encode_characters, encode_words, pad, token_text
from ..engine.checkpoints import RunFolder, load_task
from ..evaluation.metrics import embed, nearest_neighbours

ENCODINGS = {"words": encode_words, "characters": encode_characters}  # a TextDataset's `tokens` → how text reads
MAX_NEW_TOKENS = 1000


def encoded(dataset, text: str) -> list[int]:
    """`text` as the data set's tokens, as its texts were read: words for a generated grammar, characters for
    plain text."""
    encode = ENCODINGS.get(getattr(dataset, "tokens", None))
    if encode is None:
        raise ValueError(f"{dataset.name} holds {dataset.kind.items}, not texts: type a sentence for a text run")
    tokens = encode(text)
    if not tokens:
        raise ValueError("Type some text first.")
    return tokens


def continue_text(run_dir, prompt: str, new_tokens: int = 60, temperature: float = 0.8, seed: int = 0,
                  device="cpu") -> str:
    """The prompt and `new_tokens` more tokens written by the run's model, each drawn at `temperature` (near 0:
    always the likeliest, the same text every time; 1: as likely as the model says)."""
    task, config = load_task(run_dir, device)
    if not hasattr(task, "generate"):
        raise ValueError(f"a {config['task']} model does not write text: continue a prompt with a next_token run")
    if not 1 <= int(new_tokens) <= MAX_NEW_TOKENS:
        raise ValueError(f"ask for 1 to {MAX_NEW_TOKENS} new tokens, not {new_tokens}")
    if temperature < 0:
        raise ValueError(f"the temperature must be 0 or more, not {temperature}")
    dataset = load_run_data(config)
    prompt_tokens = torch.tensor(encoded(dataset, prompt), device=device)
    gen = torch.Generator(device).manual_seed(int(seed))
    written = task.generate(prompt_tokens, int(new_tokens), gen, temperature=float(temperature),
                            context=dataset.length - 1)  # it read the first length − 1 tokens of its texts
    return decode(written.tolist())


@lru_cache(maxsize=4)
def _held_out_bank(run_dir: Path, data: str | None, checkpoint_written: float, device: str):
    """The run's task, the data set and the features of its held-out texts (cached per checkpoint)."""
    task, config = load_task(run_dir, device)
    dataset = load_run_data(config, data)
    return task, dataset, embed(task, dataset.test_items, device)


def nearest_texts(run_dir, text: str, k: int = 8, data: str | None = None,
                  device="cpu") -> list[tuple[str, float, str]]:
    """The `k` held-out texts of the run's data set (or of `data`) nearest to `text` in the run's features —
    the texts the map shows, and a tenth of the cost of the training ones: (text, cosine similarity, class),
    the nearest first."""
    run_dir = Path(run_dir).resolve()
    written = RunFolder(run_dir).checkpoint_file.stat().st_mtime
    task, dataset, bank = _held_out_bank(run_dir, data, written, str(device))
    query = pad([encoded(dataset, text)], dataset.length)
    similarity, rows = nearest_neighbours(bank, embed(task, query, device), int(k))
    class_of = (lambda row: dataset.class_names[dataset.test_labels[row]]) if dataset.labelled else (lambda row: "")
    return [(decode(dataset.test_items[r].tolist()), round(float(s), 4), class_of(r))
            for s, r in zip(similarity[0].tolist(), rows[0].tolist())]


def attention(run_dir, text: str, device="cpu") -> dict:
    """The attention of the run's encoder over `text`: {"tokens": each token's text, "maps": (layers, heads,
    T, T), row i the weights token i gives every token}."""
    task, config = load_task(run_dir, device)
    if not hasattr(task.encoder, "attention_maps"):
        raise ValueError(f"a {config['task']} encoder has no attention to show: pick a text run")
    dataset = load_run_data(config)
    tokens = torch.tensor(encoded(dataset, text)[:dataset.length], device=device)[None]
    return {"tokens": [token_text(int(t)) for t in tokens[0]], "maps": task.encoder.attention_maps(tokens).cpu().numpy()}
