import json
import subprocess
import sys

import pytest
from small_data import shapes_folder

from workbench.cli import main


def workbench(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_tasks_json_lists_the_catalogue():
    result = workbench("tasks", "--json")
    assert result.returncode == 0, result.stderr
    tasks = {t["name"]: t for t in json.loads(result.stdout)}
    assert {"simclr", "rotation"} <= set(tasks)
    for task in tasks.values():
        assert task["family"] and task["title"] and task["summary"]
    assert any(p["name"] == "temperature" for p in tasks["simclr"]["params"])


def test_train_then_probe(tmp_path):
    run_dir = tmp_path / "run"
    result = workbench("train", "--data", "digits", "--task", "simclr", "--epochs", "1", "--out", str(run_dir),
                       "--batch-size", "128", "--device", "cpu", "--seed", "1", "--param", "temperature=0.3")
    assert result.returncode == 0, result.stderr
    assert "finished" in result.stderr
    config = json.loads((run_dir / "config.json").read_text())
    assert config["task_params"]["temperature"] == 0.3 and config["batch_size"] == 128
    assert (run_dir / "model.safetensors").is_file() and (run_dir / "metrics.json").is_file()

    # By default the quick probe (k-NN and linear probe), its cost said in one line first
    result = workbench("probe", str(run_dir))
    assert result.returncode == 0, result.stderr
    assert "half a minute" in result.stderr and "label efficiency" not in result.stdout.lower()
    assert "k-NN" in result.stdout

    # The default fractions, with one draw and short fine-tuning: the default three draws of 150 steps took 110 s
    # of this test's 125 (tests/test_inspection.py reads the label-efficiency table itself).
    result = workbench("probe", str(run_dir), "--label-efficiency", "--json", "--draws", "1", "--fine-tune-steps",
                       "20")
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout)
    for key in ("knn_top1", "random_init_knn_top1", "raw_pixels_knn_top1"):
        assert 0.0 <= probe[key] <= 1.0
    assert probe["raw_pixels_knn_top1"] > 0.8  # digits are easy for raw pixels: the probe really ran
    assert set(probe["label_efficiency"]) == {"0.01", "0.1", "1"}


def test_wrong_arguments_get_one_line_and_a_non_zero_exit(tmp_path, capsys):
    """In this process (a subprocess each took 6 s of torch's start-up), and once through `python -m workbench`."""
    cases = [
        ("train", "--data", "nowhere/at/all", "--out", str(tmp_path / "a")),
        ("train", "--task", "telepathy", "--out", str(tmp_path / "b")),
        ("train", "--epochs", "zero", "--out", str(tmp_path / "c")),
        ("train", "--param", "temperature", "--task", "simclr", "--out", str(tmp_path / "d")),
        ("train", "--param", "temperature=-3", "--task", "simclr", "--out", str(tmp_path / "e")),
        ("probe", str(tmp_path)),
        ("fly",),
    ]
    for args in cases:
        try:
            code = main(list(args))
        except SystemExit as exit:  # argparse's own refusals
            code = exit.code
        error = capsys.readouterr().err
        assert code != 0, args
        assert len(error.strip().splitlines()) == 1, (args, error)
        assert "Traceback" not in error
    result = workbench("train", "--task", "telepathy", "--out", str(tmp_path / "f"))
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "epochs must be between 1 and 10000, got 0"),
    (["--batch-size", "0"], "batch size must be between 2 and 8192, got 0"),
    (["--data", "digits", "--batch-size", "5000"], "batch size must be between 2 and 1437 (the training images"),
    (["--lr", "0"], "learning rate must be in (0, 1], got 0.0"),
    (["--device", "tpu"], "unknown device 'tpu'; choose from auto, cpu, cuda"),
    (["--max-minutes", "0"], "max minutes must be more than 0 (or unset: no time limit), got 0.0"),
    (["--max-minutes", "-2"], "max minutes must be more than 0 (or unset: no time limit), got -2.0"),
])
def test_settings_out_of_range_are_refused_in_one_line_before_anything_starts(tmp_path, capsys, args, message):
    assert main(["train", "--out", str(tmp_path / "run"), *args]) != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), lines
    assert not (tmp_path / "run").exists()


def test_train_writes_a_new_run_folder_or_resumes_one_but_not_both(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "a"), "--resume", str(tmp_path)]) != 0
    assert main(["train", "--resume", str(tmp_path)]) != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and "not both" in lines[0] and "not a run folder" in lines[1]


def test_resume_goes_on_to_more_epochs_and_runs_lists_the_run(tmp_path, capsys, monkeypatch):
    data = shapes_folder(tmp_path / "data", count=120)
    monkeypatch.chdir(tmp_path)  # without --out, the run gets a new folder runs/TASK-DATE-TIME, as on the page
    assert main(["train", "--data", str(data), "--epochs", "1", "--batch-size", "16", "--device", "cpu"]) == 0
    [run_dir] = (tmp_path / "runs").iterdir()
    assert run_dir.name.startswith("rotation-")
    assert main(["train", "--resume", str(run_dir), "--epochs", "2"]) == 0
    assert "going on from step 6" in capsys.readouterr().err
    steps = json.loads((run_dir / "metrics.json").read_text())["steps"]
    assert [record["step"] for record in steps] == list(range(1, 13))  # one history, no step twice

    assert main(["runs", "--root", str(tmp_path / "runs"), "--json"]) == 0
    [run] = json.loads(capsys.readouterr().out)
    assert (run["run"], run["task"], run["data"]) == (str(run_dir), "rotation", str(data.resolve()))
    assert (run["epoch"], run["epochs"], run["state"]) == (2, 2, "finished")
    assert run["seconds"] > 0 and 0 <= run["knn_top1"] <= 1 and run["started"][:2] == "20"
    assert main(["runs", "--root", str(tmp_path / "runs")]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(run_dir.name) and "rotation" in line and "2/2" in line and line.endswith("finished")
