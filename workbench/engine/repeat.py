"""What repeats a run: the command line and the Python call that train it again from its seed, with every value it
ran with written out (its config.json), so that a preset changed later does not change what they repeat. On the
same machine and device they give the same weights and the same k-NN; a run that a time budget ended may stop at
another step, since its schedule was fitted to the seconds it had."""

import shlex

# The settings a command line carries, as `train` names them (cli/train.py).
FLAGS = {"data": "--data", "task": "--task", "encoder": "--encoder", "epochs": "--epochs",
         "batch_size": "--batch-size", "learning_rate": "--lr", "weight_decay": "--weight-decay",
         "optimizer": "--optimizer", "device": "--device", "seed": "--seed", "max_minutes": "--max-minutes",
         "image_size": "--image-size", "test_fraction": "--test-fraction", "precision": "--precision"}


def repeat_command(config: dict) -> str:
    """`python -m workbench train …` with every setting of a run's config.json."""
    words = ["python", "-m", "workbench", "train"]
    for name, flag in FLAGS.items():
        if config.get(name) is not None:
            words += [flag, str(config[name])]  # str of a float reads back as the same float
    if config.get("grayscale"):
        words.append("--grayscale")
    if config.get("compile"):
        words.append("--compile")
    for name, value in sorted(config.get("task_params", {}).items()):
        words += ["--param", f"{name}={value}"]
    return shlex.join(words)


def repeat_call(config: dict, out_dir: str = "runs/repeat") -> str:
    """The same run from Python: a `TrainingRun` of a `TrainConfig` with every setting."""
    settings = {name: config[name] for name in (*FLAGS, "grayscale", "compile", "task_params") if name in config}
    arguments = ", ".join(f"{name}={value!r}" for name, value in settings.items())
    return ("from workbench.engine.job import TrainingRun\nfrom workbench.engine.settings import TrainConfig\n\n"
            f"TrainingRun(TrainConfig({arguments}), {out_dir!r}).run()")
