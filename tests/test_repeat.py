"""Every run can be repeated: the command line and the Python call that a run shows train it again from its seed
to the same weights and the same k-NN."""

import json
import shlex

from safetensors.torch import load_file

from workbench.cli import main
from workbench.engine.repeat import repeat_call, repeat_command


def last_knn(run_dir) -> float:
    return json.loads((run_dir / "metrics.json").read_text())["evals"][-1]["knn_top1"]


def test_the_command_line_and_the_python_call_repeat_a_run_to_the_same_weights_and_k_nn(tmp_path):
    first = tmp_path / "first"
    assert main(["train", "--data", "digits", "--task", "rotation", "--epochs", "1", "--batch-size", "64",
                 "--seed", "3", "--param", "flip_probability=0.25", "--out", str(first)]) == 0
    config = json.loads((first / "config.json").read_text())
    command = shlex.split(repeat_command(config))
    assert command[:4] == ["python", "-m", "workbench", "train"] and "flip_probability=0.25" in command
    assert command[command.index("--seed") + 1] == "3" and command[command.index("--epochs") + 1] == "1"

    again = tmp_path / "again"
    assert main([*command[3:], "--out", str(again)]) == 0
    weights = load_file(first / "model.safetensors")
    assert weights.keys() == load_file(again / "model.safetensors").keys()
    assert all((weights[name] == tensor).all() for name, tensor in load_file(again / "model.safetensors").items())
    assert last_knn(again) == last_knn(first)

    from_python = tmp_path / "from_python"
    exec(repeat_call(config, str(from_python)), {})
    assert last_knn(from_python) == last_knn(first)
