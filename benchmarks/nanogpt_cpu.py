"""The workbench's next-token model against nanoGPT's CPU recipe, side by side on one character-level text file.

    python benchmarks/nanogpt_cpu.py FILE [--max-bytes 1100000] [--minutes 1.5 3]

nanoGPT's README trains a character model on a CPU with: 4 layers × 128 wide, 4 heads, context 64, batch 12,
learning rate 1e-3 after 100 warm-up steps, cosine decay to 1e-4, AdamW β₂ 0.99, weight decay 0.1, gradient
clipping 1.0, dropout 0, 2,000 steps — published held-out loss 1.88 nats per character. Written out here from
those settings (its training draws random windows of the first 90 % of the file; the held-out text is the last
10 %), it runs first for its 2,000 steps, then for each budget in `--minutes` with the same schedule stretched to
the steps that fit. The workbench's `next_token` runs with its own preset and each budget (`train --data FILE
--task next_token --max-minutes M`). Both are measured the same way at the end: mean loss per character over the
same windows of 65 characters of the held-out text (context 64), so neither gains from a longer context; the text
is read as ASCII (other characters dropped), one character one token for both. Prints a
table and writes benchmarks/results/nanogpt-FILE-cpu2-PRECISION.csv. Run it on an otherwise idle machine: the
budgets are wall-clock.
"""

import argparse
import math
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from csv_results import measured_by, results_path, save_rows
from workbench.data.text.tokens import FIRST_BYTE
from workbench.engine.checkpoints import load_task
from workbench.engine.job import TrainingRun
from workbench.engine.settings import TrainConfig, resolve_precision
from workbench.models.transformer import Block

CONTEXT, BATCH, STEPS, WARMUP, PEAK, FLOOR = 64, 12, 2000, 100, 1e-3, 1e-4
EVAL_WINDOWS = 400


class RecipeGPT(nn.Module):
    """nanoGPT's model at the recipe's size, over the file's own characters (the same blocks as the workbench's)."""

    def __init__(self, vocab: int, width=128, depth=4, heads=4):
        super().__init__()
        self.token, self.position = nn.Embedding(vocab, width), nn.Embedding(CONTEXT, width)
        self.blocks = nn.ModuleList(Block(width, heads, 0.0) for _ in range(depth))
        self.norm = nn.LayerNorm(width)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)

    def forward(self, x):
        h = self.token(x) + self.position(torch.arange(x.shape[1]))
        for block in self.blocks:
            h = block(h, None, True)
        return self.norm(h) @ self.token.weight.T  # tied output weights, as nanoGPT's


def recipe_lr(step: int, total: int) -> float:
    if step < WARMUP:
        return PEAK * (step + 1) / WARMUP
    progress = min(1.0, (step - WARMUP) / max(1, total - WARMUP))
    return FLOOR + 0.5 * (1 + math.cos(math.pi * progress)) * (PEAK - FLOOR)


def train_recipe(train: torch.Tensor, vocab: int, steps: int,
                 seconds: float | None = None) -> tuple[nn.Module, int, float]:
    """The recipe for `steps` steps (or until `seconds` pass); the model, the steps taken and the seconds."""
    torch.manual_seed(0)
    model = RecipeGPT(vocab)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                                  lr=PEAK, betas=(0.9, 0.99))
    gen, start, step = torch.Generator().manual_seed(0), time.perf_counter(), 0
    while step < steps and (seconds is None or time.perf_counter() - start < seconds):
        starts = torch.randint(len(train) - CONTEXT - 1, (BATCH,), generator=gen)
        window = torch.stack([train[s:s + CONTEXT + 1] for s in starts.tolist()])
        for group in optimizer.param_groups:
            group["lr"] = recipe_lr(step, steps)
        loss = F.cross_entropy(model(window[:, :-1]).flatten(0, 1), window[:, 1:].flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
    return model, step, time.perf_counter() - start


@torch.no_grad()
def held_out_loss(logits_of, windows: torch.Tensor) -> float:
    """Mean next-character loss over the windows (N, CONTEXT + 1), in batches."""
    total = 0.0
    for start in range(0, len(windows), 100):
        batch = windows[start:start + 100]
        logits = logits_of(batch[:, :-1])
        total += F.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten(), reduction="sum").item()
    return total / (len(windows) * CONTEXT)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--max-bytes", type=int, default=1_100_000, help="read the file's first bytes only")
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.5, 3.0])
    args = parser.parse_args()
    text = Path(args.file).read_bytes()[:args.max_bytes].decode("utf-8", errors="ignore")
    text = "".join(c for c in text if ord(c) < 128)  # a character is then one byte, one token for both models
    with tempfile.TemporaryDirectory() as work:
        sample = Path(work) / Path(args.file).with_suffix(".txt").name
        sample.write_text(text, encoding="utf-8")
        run(text, sample, args.minutes, Path(work))


def run(text: str, sample: Path, budgets: list[float], work: Path):
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    encoded = torch.tensor([index[c] for c in text])
    split = int(0.9 * len(encoded))
    train, held = encoded[:split], encoded[split:]
    starts = torch.linspace(0, len(held) - CONTEXT - 2, EVAL_WINDOWS).long()
    windows = torch.stack([held[s:s + CONTEXT + 1] for s in starts.tolist()])
    as_bytes = torch.tensor([FIRST_BYTE + ord(c) for c in chars])[windows]  # the workbench's token ids
    print(f"{sample.name}: {len(text):,} characters, {len(chars)} distinct (uniform: {math.log(len(chars)):.2f} "
          f"nats); held out: the last 10 %\n")
    print("| model | budget | steps | seconds | held-out loss (nats/char, context 64) |\n|---|---|---|---|---|")
    rows, source = [], measured_by("nanogpt_cpu.py")

    def report(model_name, budget, steps, seconds, loss):
        print(f"| {model_name} | {budget} | {steps:,} | {seconds:.0f} | **{loss:.3f}** |", flush=True)
        rows.append({"model": model_name, "budget": budget, "steps": steps, "seconds": f"{seconds:.0f}",
                     "held_out_loss": f"{loss:.3f}", "file": sample.name, "source": source})

    model, steps, seconds = train_recipe(train, len(chars), STEPS)
    report("nanoGPT CPU recipe", "2,000 steps", steps, seconds, held_out_loss(model.eval(), windows))
    pace = seconds / steps
    for minutes in budgets:
        stretched = int(60 * minutes / pace)
        model, steps, seconds = train_recipe(train, len(chars), stretched, seconds=60 * minutes)
        report("nanoGPT CPU recipe", f"{minutes:g} min", steps, seconds, held_out_loss(model.eval(), windows))
        start = time.perf_counter()
        run_dir = work / f"next_token-{minutes:g}"
        status = TrainingRun(TrainConfig(data=str(sample), task="next_token", max_minutes=minutes,
                                         test_fraction=0.1), run_dir).run()
        seconds = time.perf_counter() - start
        task, _ = load_task(run_dir)
        task.eval()
        loss = held_out_loss(lambda x: task.logits(task.encoder.hidden(x)), as_bytes)
        report("workbench next_token (its preset)", f"{minutes:g} min", status.step, seconds, loss)
    save_rows(results_path("nanogpt", sample.stem, "cpu", resolve_precision("auto", torch.device("cpu"))), rows,
              key=("model", "budget"))


if __name__ == "__main__":
    main()
