"""The engine's speed, measured side by side in this one process, alternating, on SimCLR with the same encoder.

1. The engine against a bare PyTorch loop: the same task, batch and pre-made views (made once, so no
   augmentation is timed), the same AdamW. "Engine but the k-NN": a real run's images/s in all but its online
   evaluations (steps, logs, metrics, checkpoints); its ratio to the bare loop's (the goal: ≥ 0.95).
   "k-NN and bookkeeping": the share of an epoch's time that is not the bare loop's work — the online k-NN and
   collapse monitor, metrics and checkpoint, logs (the goal: ≤ 5 %). Both loops run in the engine's precision
   (`settings.resolve_precision`: the encoder in bfloat16 autocast on a GPU or a CPU with native bfloat16, else
   float32). The engine's seconds are its run's own clock, from its first step on: reading the data and building
   the task happen once a run, not once an epoch.
2. Ours against the pipeline people use today: lightly's `SimCLRTransform` (set to our views' strengths) in a
   torch DataLoader with 2 workers and its `NTXentLoss`, against our step (uint8 images on the device, batched
   augmentation, `task.training_step`), both on our encoder and projection head: images/s and their ratio (the
   goal: ≥ 3×). Lightly's pipeline runs in float32, as people run it on a CPU; ours in the engine's precision,
   and also in float32, so that what the precision brings and what the pipeline brings can be told apart.
   Each pipeline's speed is its median step after one untimed step: neither the first pass (kernel set-up)
   nor the batches lightly's workers prepared ahead or after the others count.

    python benchmarks/engine_speed.py [--batch-size 256] [--epochs 3] [--steps 20] [--rounds 2] [--device cpu]

Timings on a machine shared with other work are noisy: each figure is the median of `--rounds` alternations.
The figures also go to benchmarks/results/engine-shapes-MACHINE-PRECISION.csv, one row a measure.
"""

import argparse
import statistics
import tempfile
import time

import torch

from csv_results import measured_by, results_path, save_rows
from workbench.engine import loop
from workbench.engine.job import TrainingRun
from workbench.engine.settings import TrainConfig, resolve_precision
from workbench.tasks import Progress, build_task


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def simclr(device, bfloat16=False):
    """SimCLR on small_cnn as the engine builds it; `bfloat16`: its encoder under autocast, as the engine runs it
    where `resolve_precision` says bfloat16."""
    task = build_task("simclr", "small_cnn", 0).to(device)
    if bfloat16:
        loop.encode_in_bfloat16(task.encoder, device)
    return task.to(memory_format=torch.channels_last)


def engine_precision(device) -> bool:
    return resolve_precision("auto", device) == "bfloat16"


def optimise(optimizer, loss) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def bare_loop(task, views, steps, device) -> float:
    """Seconds for `steps` plain PyTorch steps on the same views, after 3 untimed ones that warm this model up."""
    optimizer = torch.optim.AdamW(task.parameters(), lr=1e-3)
    for step in range(steps + 3):
        if step == 3:
            sync(device)
            began = time.perf_counter()
        optimise(optimizer, task.loss(views, Progress()).loss)
    sync(device)
    return time.perf_counter() - began


def engine_run(views, args, out_dir) -> dict:
    """A real run of the engine (TrainingRun, loop, run folder) whose task is fed the pre-made views; seconds in
    all, in evaluation, and steps done."""
    real_build_task, real_evaluate = loop.build_task, loop.OnlineEvaluation.__call__
    real_save = TrainingRun.save_checkpoint
    evaluation_seconds, save_seconds = [], []

    def fed_premade_views(*a, **k):
        task = real_build_task(*a, **k)
        task.make_inputs = lambda images, gen, indices=None: views
        return task

    def timed_evaluation(self, *a):
        began = time.perf_counter()
        record = real_evaluate(self, *a)
        evaluation_seconds.append(time.perf_counter() - began)
        return record

    def timed_save(self, *a, **k):
        began = time.perf_counter()
        real_save(self, *a, **k)
        save_seconds.append(time.perf_counter() - began)

    loop.build_task, loop.OnlineEvaluation.__call__ = fed_premade_views, timed_evaluation
    TrainingRun.save_checkpoint = timed_save
    try:
        run = TrainingRun(TrainConfig(data="shapes", task="simclr", epochs=args.epochs, batch_size=args.batch_size,
                                      device=args.device, seed=0), out_dir)
        status = run.run()
    finally:
        loop.build_task, loop.OnlineEvaluation.__call__ = real_build_task, real_evaluate
        TrainingRun.save_checkpoint = real_save
    assert status.state == "finished", status.message
    # The run's clock starts after its setup and its step-0 evaluation, and counts the later evaluations.
    # The last evaluation is the whole data's (once a run): an epoch's is one of those between.
    return {"seconds": status.elapsed_seconds, "evaluation": sum(evaluation_seconds[1:]), "steps": status.step,
            "epoch_evaluation": statistics.mean(evaluation_seconds[1:-1]), "saves": sum(save_seconds[:args.epochs]),
            "steps_per_epoch": status.step // args.epochs}


def measure(name: str, value: str, unit: str, goal: str = "") -> dict:
    return {"measure": name, "value": value, "unit": unit, "goal": goal}


def engine_against_bare_loop(args, device) -> list[dict]:
    from workbench.data.shapes import generate_shapes

    images, _ = generate_shapes(args.batch_size)
    task = simclr(device)
    batch = images.to(device).float().div_(255).contiguous(memory_format=torch.channels_last)
    views = task.make_inputs(batch, torch.Generator(device=device).manual_seed(0))
    bare_loop(task, views, 3, device)  # warm-up
    engine, bare = [], []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as out_dir:
            engine.append(engine_run(views, args, out_dir))
        task = simclr(device, engine_precision(device))
        bare.append(bare_loop(task, views, engine[-1]["steps"], device) / engine[-1]["steps"])
    per_step_bare = statistics.median(bare)
    per_step_engine = statistics.median((e["seconds"] - e["evaluation"]) / e["steps"] for e in engine)
    # An epoch: its steps, its evaluation and its files.
    epoch = statistics.median((e["seconds"] - e["evaluation"] - e["saves"]) / args.epochs + e["epoch_evaluation"]
                              + e["saves"] / args.epochs for e in engine)
    steps_per_epoch = engine[0]["steps_per_epoch"]
    b = args.batch_size
    print(f"1. SimCLR, small_cnn, batch {b}, pre-made views, {steps_per_epoch} steps an epoch, {args.epochs} epochs, "
          f"{'bfloat16 autocast' if engine_precision(device) else 'float32'}, median of {args.rounds}")
    print(f"   bare PyTorch loop    {b / per_step_bare:8.0f} img/s")
    print(f"   engine but the k-NN  {b / per_step_engine:8.0f} img/s   ratio {per_step_bare / per_step_engine:5.2f}"
          "   (goal ≥ 0.95)")
    share = 1 - steps_per_epoch * per_step_bare / epoch
    knn = statistics.median(e["epoch_evaluation"] for e in engine) / epoch
    saves = statistics.median(e["saves"] / args.epochs for e in engine) / epoch
    print(f"   an epoch: {epoch:.2f} s; its end (online k-NN and collapse monitor, checkpoint and metrics) "
          f"{100 * (knn + saves):.1f} %   (goal ≤ 5 %: k-NN {100 * knn:.1f} %, files {100 * saves:.1f} %)")
    print(f"   all that is not the bare loop's work (the epoch's end, and the steps' logs, schedule and batch "
          f"indexing) {100 * share:.1f} %")
    return [measure("bare PyTorch loop", f"{b / per_step_bare:.0f}", "img/s"),
            measure("engine but the k-NN", f"{b / per_step_engine:.0f}", "img/s"),
            measure("engine ÷ bare loop", f"{per_step_bare / per_step_engine:.2f}", "ratio", "≥ 0.95"),
            measure("an epoch", f"{epoch:.2f}", "s"),
            measure("an epoch's end (online k-NN, collapse monitor, checkpoint, metrics)",
                    f"{100 * (knn + saves):.1f}", "% of an epoch", "≤ 5"),
            measure("online k-NN and collapse monitor", f"{100 * knn:.1f}", "% of an epoch"),
            measure("checkpoint and metrics files", f"{100 * saves:.1f}", "% of an epoch"),
            measure("all that is not the bare loop's work", f"{100 * share:.1f}", "% of an epoch")]


def median_speed(step, steps: int, batch_size: int, device) -> float:
    """Images/s of a pipeline's median step, after one untimed step (the model's first pass sets up its
    kernels): the median counts neither that step nor the few whose batches lightly's workers made ahead."""
    step(0)
    seconds = []
    for i in range(1, steps + 1):
        sync(device)
        began = time.perf_counter()
        step(i)
        sync(device)
        seconds.append(time.perf_counter() - began)
    return batch_size / statistics.median(seconds)


def lightly_against_ours(args, device) -> list[dict]:
    from lightly.loss import NTXentLoss
    from lightly.transforms import SimCLRTransform
    from PIL import Image

    from workbench.data.shapes import generate_shapes

    b, steps = args.batch_size, args.steps
    images, _ = generate_shapes(b * (steps + 9))  # batches to spare: lightly's workers never run dry
    p = simclr(device).params
    s = p.color_jitter
    transform = SimCLRTransform(input_size=32, cj_prob=p.jitter_probability, cj_strength=s, min_scale=p.crop_min_scale,
                                random_gray_scale=p.grayscale_probability, gaussian_blur=0.0, normalize=None)
    pictures = [Image.fromarray(image.permute(1, 2, 0).numpy()) for image in images]

    class Pictures(torch.utils.data.Dataset):
        def __len__(self):
            return len(pictures)

        def __getitem__(self, i):
            return transform(pictures[i])

    criterion = NTXentLoss(temperature=p.temperature)

    def theirs():
        task = simclr(device)
        optimizer = torch.optim.AdamW(task.parameters(), lr=1e-3)
        loader = torch.utils.data.DataLoader(Pictures(), batch_size=b, shuffle=True, num_workers=2, drop_last=True,
                                             persistent_workers=False)
        batches = iter(loader)

        def step(_):
            view1, view2 = (v.to(device).contiguous(memory_format=torch.channels_last) for v in next(batches))
            z = task.projector(task.encoder(torch.cat([view1, view2])))
            optimise(optimizer, criterion(z[:b], z[b:]))
        return median_speed(step, steps, b, device)

    def ours(bfloat16):
        task = simclr(device, bfloat16)
        optimizer = torch.optim.AdamW(task.parameters(), lr=1e-3)
        on_device, gen = images.to(device), torch.Generator(device=device).manual_seed(0)

        def step(i):
            batch = on_device[i * b:(i + 1) * b].float().div_(255).contiguous(memory_format=torch.channels_last)
            optimise(optimizer, task.training_step(batch, gen).loss)
        return median_speed(step, steps, b, device)

    speeds = {"lightly": [], "ours": [], "ours, float32": []}
    for _ in range(args.rounds):
        speeds["lightly"].append(theirs())
        speeds["ours"].append(ours(engine_precision(device)))
        speeds["ours, float32"].append(ours(False))
    return report_lightly_against_ours(args, device, *(statistics.median(speeds[name]) for name in speeds))


def report_lightly_against_ours(args, device, theirs_speed, ours_speed, ours_fp32) -> list[dict]:
    """Print the second comparison; returns its CSV rows."""
    precision = "bfloat16 autocast" if engine_precision(device) else "float32"
    print(f"2. SimCLR, small_cnn, batch {args.batch_size}, the median of {args.steps} steps, "
          f"median of {args.rounds} rounds")
    print(f"   lightly (SimCLRTransform, DataLoader with 2 workers, NTXentLoss), float32  {theirs_speed:8.0f} img/s")
    print(f"   ours (uint8 on the device, batched augmentation), float32                 {ours_fp32:8.0f} img/s   "
          f"ratio {ours_fp32 / theirs_speed:5.2f}x")
    print(f"   ours, as the engine runs it ({precision}){' ' * (36 - len(precision))}{ours_speed:8.0f} img/s   "
          f"ratio {ours_speed / theirs_speed:5.2f}x   (goal ≥ 3x)")
    return [measure("lightly (SimCLRTransform, 2-worker DataLoader, NTXentLoss), float32", f"{theirs_speed:.0f}",
                    "img/s"),
            measure("ours, float32", f"{ours_fp32:.0f}", "img/s"),
            measure("ours, float32 ÷ lightly", f"{ours_fp32 / theirs_speed:.2f}", "ratio"),
            measure(f"ours, as the engine runs it ({precision})", f"{ours_speed:.0f}", "img/s"),
            measure("ours ÷ lightly", f"{ours_speed / theirs_speed:.2f}", "ratio", "≥ 3")]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3, help="epochs of each engine run (1.), at least 2")
    parser.add_argument("--steps", type=int, default=20, help="timed steps of each pipeline (2.)")
    parser.add_argument("--rounds", type=int, default=2, help="alternations; each figure is their median")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--only", choices=["engine", "lightly"], help="run one of the two comparisons")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"device {device}, {torch.get_num_threads()} threads; a shared machine makes these figures noisy")
    rows = []
    if args.only != "lightly":
        rows += engine_against_bare_loop(args, device)
    if args.only != "engine":
        rows += lightly_against_ours(args, device)
    source = measured_by("engine_speed.py")
    save_rows(results_path("engine", "shapes", device, resolve_precision("auto", device)),
              [{**row, "source": source} for row in rows], key=("measure",))


if __name__ == "__main__":
    main()
