import json
import subprocess
import sys


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

    result = workbench("probe", str(run_dir), "--json")
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout)
    for key in ("knn_top1", "random_init_knn_top1", "raw_pixels_knn_top1"):
        assert 0.0 <= probe[key] <= 1.0
    assert probe["raw_pixels_knn_top1"] > 0.8  # digits are easy for raw pixels: the probe really ran


def test_wrong_arguments_get_one_line_and_a_non_zero_exit(tmp_path):
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
        result = workbench(*args)
        assert result.returncode != 0, args
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr
