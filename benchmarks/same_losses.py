"""The losses a tree gives for one seed, to show that a refactoring changed no number.

Per registered task: the losses of 4 direct steps on 32 Shapes images and the sum of the features after them;
and five short real engine runs (2 epochs on 160 Shapes images, float32): every step's loss and every online
k-NN. Run it on the tree before and after a change and compare:

    .venv/bin/python benchmarks/same_losses.py before.json            # on the old tree (PYTHONPATH=OLD_TREE)
    .venv/bin/python benchmarks/same_losses.py after.json --compare before.json
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from small_data import shapes_folder  # noqa: E402

from workbench import TrainConfig, TrainingRun, build_task, list_tasks  # noqa: E402
from workbench.data.shapes import generate_shapes  # noqa: E402
from workbench.tasks import Progress, task_class  # noqa: E402

ENGINE_TASKS = ("rotation", "simclr", "dino", "deepcluster", "inpainting")


def direct_steps(name: str, images: torch.Tensor) -> dict:
    cls = task_class(name)
    task = build_task(name, cls.encoders[0] if cls.encoders else "small_cnn", 0)
    optimizer, gen, losses = torch.optim.AdamW(task.parameters(), lr=1e-3), torch.Generator().manual_seed(0), []
    for step in range(4):
        progress = Progress(step, 10, 1, 2)
        if step == 0:
            task.on_epoch_start(progress, lambda transform=lambda x: x: task.features(transform(images)).detach())
        out = task.training_step(images, gen, progress, torch.arange(len(images)))
        optimizer.zero_grad()
        out.loss.backward()
        task.before_optimizer_step(progress)
        optimizer.step()
        task.after_optimizer_step(progress)
        losses.append(round(out.loss.item(), 5))
    with torch.no_grad():
        features = task.eval().features(images)
    return {"steps": losses, "features": round(features.double().sum().item(), 3)}


def engine_run(name: str, folder: Path) -> dict:
    out = tempfile.mkdtemp()
    TrainingRun(TrainConfig(data=str(folder), task=name, epochs=2, batch_size=32, precision="float32"), out).run()
    metrics = json.loads((Path(out) / "metrics.json").read_text())
    return {"losses": [round(r["loss"], 4) for r in metrics["steps"]],
            "knn": [round(e["knn_top1"], 4) for e in metrics["evals"]]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--compare", type=Path, help="a file written by this script on another tree")
    args = parser.parse_args()
    torch.set_num_threads(1)  # the same reductions in the same order, on any machine
    images = generate_shapes(32, seed=0)[0].float() / 255
    result = {name: direct_steps(name, images) for name in (info.name for info in list_tasks())}
    folder = shapes_folder(Path(tempfile.mkdtemp()) / "shapes", 160)
    result |= {f"engine_{name}": engine_run(name, folder) for name in ENGINE_TASKS}
    args.out.write_text(json.dumps(result, indent=1))
    if args.compare:
        other = json.loads(args.compare.read_text())
        differ = [key for key in other if other[key] != result.get(key)]
        print("identical" if not differ else f"different: {', '.join(differ)}")


if __name__ == "__main__":
    main()
