"""Training under torchrun: two real processes on the CPU (gloo), each on its share of every batch."""

import json
import os
import subprocess
import sys

import pytest
import torch

from workbench.engine.checkpoints import RunFolder
from workbench.engine.distributed import World
from workbench.engine.loop import AUGMENT, seed_for
from workbench.tasks import list_tasks, task_class
from workbench.engine.job import TrainingRun
from workbench.engine.settings import TrainConfig

# `python -m workbench train …`, with every process writing down, one line a step, the sum of its weights and
# the image indices it trains on.
RECORDING_TRAINER = """
import os, sys
from workbench import cli
from workbench.engine import loop

real_build_task = loop.build_task

def recording_task(*args, **kwargs):
    task = real_build_task(*args, **kwargs)
    real_step, seen = task.training_step, open(os.path.join(sys.argv[1], f"rank-{os.environ['RANK']}.txt"), "w")

    def step(images, gen, progress, indices):
        weights = sum(parameter.double().sum() for parameter in task.parameters())
        seen.write(f"{weights.item()!r} " + " ".join(map(str, indices.tolist())) + "\\n")
        seen.flush()
        return real_step(images, gen, progress, indices)
    task.training_step = step
    return task

loop.build_task = recording_task
sys.exit(cli.main(sys.argv[2:]))
"""

# The same trainer, whose processes die (as a kill would take them: nothing more is saved) as epoch 2 begins.
DYING_TRAINER = """
import os, sys
from workbench import cli
from workbench.engine import loop

real_build_task = loop.build_task

def task_that_dies_in_epoch_two(*args, **kwargs):
    task = real_build_task(*args, **kwargs)
    real_step = task.training_step

    def step(images, gen, progress, indices):
        if progress.epoch == 2:
            os._exit(3)
        return real_step(images, gen, progress, indices)
    task.training_step = step
    return task

loop.build_task = task_that_dies_in_epoch_two
sys.exit(cli.main(sys.argv[1:]))
"""


def torchrun(*arguments):
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone", *arguments]
    return subprocess.run(command, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                          timeout=300)


def test_two_processes_train_one_run_on_different_images(tmp_path):
    seen, out = tmp_path / "seen", tmp_path / "runs" / "two"
    seen.mkdir()
    script = tmp_path / "trainer.py"
    script.write_text(RECORDING_TRAINER)
    epochs, batch = 3, 32
    done = torchrun(str(script), str(seen), "train", "--data", "digits", "--task", "rotation", "--epochs",
                    str(epochs), "--batch-size", str(batch), "--device", "cpu", "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]  # torchrun exits 0 only if both processes did

    assert [path.parent for path in tmp_path.rglob("config.json")] == [out]  # one run folder, rank 0's
    assert [path.name for path in out.rglob("*.safetensors") if path.parent == out] == ["model.safetensors"]
    metrics = json.loads((out / "metrics.json").read_text())
    steps_per_epoch = 1437 // batch  # the global batch, as in one process: digits has 1,437 training images
    assert metrics["state"] == "finished" and len(metrics["steps"]) == epochs * steps_per_epoch
    losses = torch.tensor([record["loss"] for record in metrics["steps"]])
    first, last = losses[:20].mean(), losses[-20:].mean()  # a trend over many steps, not one float
    assert last < first - 0.1, f"mean loss went from {first:.3f} to {last:.3f}"
    assert metrics["evals"][-1]["knn_top1"] > 0.5

    lines = [[line.split() for line in (seen / f"rank-{rank}.txt").read_text().splitlines()] for rank in (0, 1)]
    assert len(lines[0]) == len(lines[1]) == epochs * steps_per_epoch
    weights = [[line[0] for line in rank] for rank in lines]
    assert weights[0] == weights[1] and len(set(weights[0])) > 1  # the same weights at every step, changing
    ranks = [[line[1:] for line in rank] for rank in lines]
    for zero, one in zip(*ranks):  # each its half of the global batch, none shared
        assert len(zero) == len(one) == batch // 2 and not set(zero) & set(one)
    first_epoch = {index for rank in ranks for step in rank[:steps_per_epoch] for index in step}
    assert len(first_epoch) == steps_per_epoch * batch  # an epoch shows every image at most once


def test_a_two_process_run_killed_and_resumed_goes_on_from_its_checkpoint(tmp_path):
    """Killed as epoch 2 begins and resumed under torchrun, a run goes on from epoch 1's checkpoint in both
    processes and ends where the run never interrupted ends. Not step for step: the checkpoint holds rank 0's
    random generators, and rank 1 draws new augmentations."""
    train = ["train", "--data", "digits", "--task", "rotation", "--epochs", "2", "--batch-size", "32",
             "--device", "cpu"]
    steps_per_epoch = 1437 // 32
    whole = torchrun("-m", "workbench", *train, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr[-3000:]
    dying, recording, seen = tmp_path / "dying.py", tmp_path / "recording.py", tmp_path / "seen"
    dying.write_text(DYING_TRAINER)
    recording.write_text(RECORDING_TRAINER)
    seen.mkdir()
    assert torchrun(str(dying), *train, "--out", str(tmp_path / "cut")).returncode != 0
    cut = RunFolder(tmp_path / "cut")
    assert cut.load_training_state().step == steps_per_epoch and cut.read_metrics()["state"] != "finished"
    saved, _ = cut.load_task()
    saved_weights = sum(parameter.double().sum() for parameter in saved.parameters()).item()

    resumed = torchrun(str(recording), str(seen), "train", "--resume", str(cut.path))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    weights = [[float(line.split()[0]) for line in (seen / f"rank-{rank}.txt").read_text().splitlines()]
               for rank in (0, 1)]
    assert len(weights[0]) == steps_per_epoch and weights[0] == weights[1]  # one model in both processes
    assert weights[0][0] == pytest.approx(saved_weights, rel=1e-9)  # ...the checkpoint's
    runs = {name: RunFolder(tmp_path / name).read_metrics() for name in ("whole", "cut")}
    assert runs["cut"]["state"] == "finished"
    losses = {name: torch.tensor([record["loss"] for record in metrics["steps"]]) for name, metrics in runs.items()}
    assert [record["step"] for record in runs["cut"]["steps"]] == list(range(1, 2 * steps_per_epoch + 1))
    assert torch.allclose(losses["cut"][:steps_per_epoch], losses["whole"][:steps_per_epoch], rtol=1e-5)
    second = {name: loss[steps_per_epoch:].mean() for name, loss in losses.items()}
    assert abs(second["cut"] - second["whole"]) < 0.1, second  # the same curve, not a restart from scratch
    assert second["cut"] < losses["cut"][:20].mean() - 0.1
    knn = {name: metrics["evals"][-1]["knn_top1"] for name, metrics in runs.items()}
    assert abs(knn["cut"] - knn["whole"]) < 0.1, knn


def test_each_process_has_its_share_of_the_batch_and_its_own_augmentations():
    batch = torch.arange(64)
    shares = [World(size=4, rank=rank).share(batch) for rank in range(4)]
    assert torch.equal(torch.cat(shares), batch)
    assert len({seed_for(0, AUGMENT, rank) for rank in range(4)}) == 4
    assert World.from_environment().size >= 1


def test_batch_norm_is_synchronised_for_the_methods_that_compare_images_in_a_batch():
    """A property each task declares (the engine keeps no list of tasks)."""
    synchronised = {info.name for info in list_tasks() if task_class(info.name).sync_batchnorm}
    assert synchronised == {"simclr", "moco", "byol", "simsiam", "barlow_twins", "vicreg", "swav", "dino"}


def test_a_batch_that_does_not_split_evenly_over_the_processes_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "3")
    with pytest.raises(ValueError, match="multiple of the 3 processes"):
        TrainingRun(TrainConfig(data="digits", batch_size=64, device="cpu"), tmp_path)
    assert not any(tmp_path.iterdir())
