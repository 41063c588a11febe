import json
import math

import pytest
import torch
from safetensors.torch import load_file

from workbench import training
from workbench.evaluation import probe_run
from workbench.training import JobManager, TrainConfig, TrainingRun, learning_rate_at


def test_short_cpu_run_learns_shapes_and_writes_its_folder(tmp_path):
    run = TrainingRun(TrainConfig(data="shapes", task="rotation", epochs=5, device="cpu", seed=0), tmp_path)
    status = run.run()
    assert status.state == "finished", status.message
    assert status.step == status.total_steps == 5 * (5000 // 64)
    assert math.isfinite(status.steps[-1]["loss"]) and status.steps[-1]["loss"] < math.log(4)
    before, after = status.evals[0]["knn_top1"], status.evals[-1]["knn_top1"]
    assert after > before + 0.1, f"k-NN went from {before} to {after}"

    config = json.loads((tmp_path / "config.json").read_text())
    assert config["task"] == "rotation" and config["encoder_resolved"] == "small_cnn"
    assert config["task_params"]["crop_min_scale"] == 0.6  # defaults are written out in full
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert len(metrics["steps"]) == status.step and len(metrics["evals"]) == 6
    weights = load_file(tmp_path / "model.safetensors")
    assert any(k.startswith("encoder.") for k in weights) and any(k.startswith("classifier.") for k in weights)

    result = probe_run(tmp_path)
    assert result["knn_top1"] > result["random_init_knn_top1"] + 0.1
    assert result["knn_top1"] > result["raw_pixels_knn_top1"] + 0.1


def test_one_run_at_a_time_and_stop_ends_it_cleanly(tmp_path):
    manager = JobManager(tmp_path)
    config = TrainConfig(data="digits", epochs=50, device="cpu")
    run = manager.start(config)
    with pytest.raises(RuntimeError, match="already going"):
        manager.start(config)
    run.pause()
    assert run.status().state == "paused"
    run.resume()
    run.stop()
    run.join(timeout=60)
    status = run.status()
    assert status.state == "stopped" and status.step < status.total_steps
    assert (run.out_dir / "model.safetensors").exists()  # stopping keeps what was learned
    assert manager.start(TrainConfig(data="digits", epochs=1, device="cpu")) is not run  # free again
    manager.current.join(timeout=60)


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real_create_task = training.create_task

    def task_that_diverges_in_epoch_two(*args, **kwargs):
        task = real_create_task(*args, **kwargs)
        real_step, calls = task.training_step, []

        def step(images, gen):
            out = real_step(images, gen)
            calls.append(1)
            if len(calls) > 25:  # digits: 22 steps an epoch
                out.loss = out.loss * float("nan")
            return out
        task.training_step = step
        return task

    monkeypatch.setattr(training, "create_task", task_that_diverges_in_epoch_two)
    status = TrainingRun(TrainConfig(data="digits", epochs=3, device="cpu"), tmp_path).run()
    assert status.state == "failed" and "nan" in status.message.lower()
    assert "lower learning rate" in status.message
    weights = load_file(tmp_path / "model.safetensors")  # the checkpoint of epoch one, intact
    assert all(torch.isfinite(w).all() for w in weights.values() if w.is_floating_point())


@pytest.mark.parametrize("change, message", [
    ({"epochs": 0}, "epochs"), ({"batch_size": 1}, "batch size"), ({"learning_rate": -1}, "learning rate"),
    ({"task": "telepathy"}, "unknown task"), ({"task_params": {"temperature": 0.5}}, "no parameter"),
    ({"device": "tpu"}, "unknown device"), ({"encoder": "vit_giant"}, "unknown encoder"),
])
def test_nonsense_settings_are_refused_before_anything_starts(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        TrainingRun(TrainConfig(**change), tmp_path)
    assert not any(tmp_path.iterdir())


def test_learning_rate_warms_up_then_decays_to_zero():
    rates = [learning_rate_at(step, 100, 1.0) for step in range(100)]
    assert rates[0] < rates[4] == 1.0
    assert all(a >= b for a, b in zip(rates[5:], rates[6:])) and rates[-1] < 0.01
