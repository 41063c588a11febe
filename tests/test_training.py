import json
import math
import re
import signal
import subprocess
import sys
import threading
import time
import warnings

import pytest
import torch
from safetensors.torch import load_file
from small_data import shapes_folder

from workbench.engine import loop
from workbench.engine.checkpoints import HISTORY_EPOCHS, RunFolder, load_into, load_task
from workbench.tasks import build_task
from workbench.inspection.preview import task_preview
from workbench.inspection.plots import knn_figure
from workbench.inspection.probe_run import probe_run
from workbench.engine.loop import learning_rate_at
from workbench.engine.job import TrainingRun
from workbench.engine.manager import JobManager
from workbench.engine.settings import TrainConfig, preset_note
from workbench.tasks import list_tasks, task_class


NAMES = [info.name for info in list_tasks()]


def test_short_cpu_run_learns_shapes_and_writes_its_folder(tmp_path):
    config = TrainConfig(data="shapes", task="rotation", epochs=5, batch_size=32, device="cpu", seed=0)
    status = TrainingRun(config, tmp_path).run()  # batch 32: twice the steps of the preset's 64, as quick
    assert status.state == "finished", status.message
    assert status.step == status.total_steps == 5 * (5000 // 32)
    losses = [record["loss"] for record in status.steps]
    assert all(map(math.isfinite, losses))
    first, last = sum(losses[:50]) / 50, sum(losses[-50:]) / 50  # a trend over many steps, not one float
    assert last < first - 0.1, f"mean loss went from {first:.3f} to {last:.3f}"
    before, after = status.evals[0]["knn_top1"], status.evals[-1]["knn_top1"]
    assert after > before + 0.1, f"k-NN went from {before} to {after}"

    config = json.loads((tmp_path / "config.json").read_text())
    assert config["task"] == "rotation" and config["encoder_resolved"] == "small_cnn"
    assert config["task_params"]["crop_min_scale"] == 0.6  # defaults are written out in full
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert len(metrics["steps"]) == status.step and len(metrics["evals"]) == 6
    assert [e["all_images"] for e in metrics["evals"]] == [False] * 5 + [True]  # the run's end: every image
    sampled, _, whole = knn_figure(metrics["evals"], 5).data  # drawn apart from the epochs' samples
    assert len(sampled.x) == 5 and list(whole.x) == [5] and whole.y[0] == pytest.approx(after)
    weights = load_file(tmp_path / "model.safetensors")
    assert any(k.startswith("encoder.") for k in weights) and any(k.startswith("classifier.") for k in weights)

    result = probe_run(tmp_path)
    assert result["knn_top1"] > result["random_init_knn_top1"] + 0.1
    assert result["knn_top1"] > result["raw_pixels_knn_top1"] + 0.1


def test_one_run_at_a_time_and_stop_ends_it_cleanly(tmp_path):
    manager = JobManager(tmp_path)
    config = TrainConfig(data="digits", task="rotation", epochs=50, device="cpu")
    run = manager.start(config)
    assert re.fullmatch(r"rotation-\d{8}-\d{6}", run.out_dir.name)  # the page's folders are named as the CLI's
    with pytest.raises(RuntimeError, match="already going"):
        manager.start(config)
    run.pause()
    assert run.status().state == "paused"
    run.unpause()
    run.stop()
    run.join(timeout=60)
    status = run.status()
    assert status.state == "stopped" and status.step < status.total_steps
    assert (run.out_dir / "model.safetensors").exists()  # stopping keeps what was learned
    assert manager.start(TrainConfig(data="digits", epochs=1, device="cpu")) is not run  # free again
    manager.current.join(timeout=60)


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real_build_task = loop.build_task

    def task_that_diverges_in_epoch_two(*args, **kwargs):
        task = real_build_task(*args, **kwargs)
        real_step, calls = task.training_step, []

        def step(*args):
            out = real_step(*args)
            calls.append(1)
            if len(calls) > 25:  # digits: 22 steps an epoch
                out.loss = out.loss * float("nan")
            return out
        task.training_step = step
        return task

    monkeypatch.setattr(loop, "build_task", task_that_diverges_in_epoch_two)
    status = TrainingRun(TrainConfig(data="digits", epochs=3, device="cpu"), tmp_path).run()
    assert status.state == "failed" and "nan" in status.message.lower()
    assert "lower learning rate" in status.message
    weights = load_file(tmp_path / "model.safetensors")  # the checkpoint of epoch one, intact
    assert all(torch.isfinite(w).all() for w in weights.values() if w.is_floating_point())


def test_running_out_of_gpu_memory_fails_the_run_with_advice(tmp_path, monkeypatch):
    real_build_task = loop.build_task

    def task_too_big_for_the_gpu(*args, **kwargs):
        task = real_build_task(*args, **kwargs)

        def step(*args):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")
        task.training_step = step
        return task

    monkeypatch.setattr(loop, "build_task", task_too_big_for_the_gpu)
    status = TrainingRun(TrainConfig(data="digits", batch_size=256, device="cpu"), tmp_path).run()
    assert status.state == "failed"
    assert "out of memory" in status.message and "smaller batch size, e.g. 128" in status.message
    assert RunFolder(tmp_path).read_metrics()["state"] == "failed"


def test_listeners_hear_what_is_new_and_the_loss_is_read_every_few_steps(tmp_path):
    run = TrainingRun(TrainConfig(data="digits", task="rotation", epochs=2, device="cpu"), tmp_path)
    heard = []
    run.listeners.append(lambda event, status: heard.append((event, status)))
    status = run.run()
    assert status.state == "finished", status.message
    assert [record for event, s in heard if event == "step" for record in s.steps] == status.steps
    assert [record for event, s in heard if event == "eval" for record in s.evals] == status.evals
    logs = [s for event, s in heard if event == "step"]
    assert all(0 < len(s.steps) <= loop.LOG_EVERY for s in logs)
    assert len(logs) <= status.total_steps // loop.LOG_EVERY + status.epochs  # and where an epoch ends
    assert [record["step"] for record in status.steps] == list(range(1, status.total_steps + 1))
    assert status.gpu_memory_gb is None and heard[-1][0] == "end"


@pytest.mark.parametrize("change, message", [
    ({"epochs": 0}, "epochs"), ({"batch_size": 1}, "batch size"), ({"learning_rate": -1}, "learning rate"),
    ({"task": "telepathy"}, "unknown task"), ({"task_params": {"temperature": 0.5}}, "no parameter"),
    ({"device": "tpu"}, "unknown device"), ({"encoder": "vit_giant"}, "unknown encoder"),
    ({"batch_size": 0}, "batch size must be between 2 and 8192, got 0"), ({"learning_rate": 0}, r"\(0, 1\]"),
    ({"data": "digits", "batch_size": 2000}, "batch size must be between 2 and 1437 .*got 2000"),
    ({"max_minutes": 0}, "max minutes must be more than 0"), ({"epochs": -3}, "between 1 and 10000, got -3"),
    ({"task": "mae", "image_size": 64}, "vit_tiny reads 32×32 images only"),
])
def test_nonsense_settings_are_refused_before_anything_starts(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        TrainingRun(TrainConfig(**change), tmp_path)
    assert not any(tmp_path.iterdir())


def test_precision_auto_follows_the_chip_and_a_wrong_name_is_refused(tmp_path):
    native = bool(torch.cpu.get_capabilities().get("avx512_bf16") or torch.cpu.get_capabilities().get("amx_bf16"))
    assert TrainConfig(device="cpu").resolved().precision == ("bfloat16" if native else "float32")
    assert TrainConfig(device="cpu", precision="float32").resolved().precision == "float32"
    with pytest.raises(ValueError, match="unknown precision 'half'; choose from auto, float32, bfloat16"):
        TrainingRun(TrainConfig(precision="half"), tmp_path)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice value is Linux's")
def test_a_background_run_trains_at_a_lower_priority_than_the_server(tmp_path):
    import os
    import threading

    niceness = []
    run = TrainingRun(TrainConfig(data="digits", task="rotation", epochs=1, device="cpu"), tmp_path / "run")
    run.listeners.append(lambda event, status: niceness.append(
        os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
    run.start()
    run.join(timeout=120)
    ours = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert run.status().state == "finished" and niceness
    assert min(niceness) >= max(ours, 10)  # the training thread was lowered to nice 10, not this one
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == ours


def test_learning_rate_warms_up_then_decays_to_zero():
    rates = [learning_rate_at(step, 100, 1.0) for step in range(100)]
    assert rates[0] < rates[4] == 1.0
    assert all(a >= b for a, b in zip(rates[5:], rates[6:])) and rates[-1] < 0.01


def test_the_engine_calls_the_task_hooks_in_order(tmp_path, monkeypatch):
    from dataclasses import dataclass

    from workbench import tasks
    from workbench.tasks import PretextTask, Preset, StepOutput, TaskInfo

    calls = []

    def mirror(batch):  # a transform gets batches of [0, 1] images, as `features` does
        assert batch.dtype == torch.float32 and 0 <= batch.min() and batch.max() <= 1
        return batch.flip(-1)

    class Fake(PretextTask):
        info = TaskInfo("fake", "test", "Fake", "records hook calls", "none", "https://example.org", "nothing")
        preset = Preset(epochs=2, batch_size=100, learning_rate=1e-3)

        @dataclass
        class Params:
            pass

        def __init__(self, encoder, params=None):
            super().__init__(encoder, params)
            self.head = torch.nn.Linear(encoder.feature_dim, 1)

        def on_epoch_start(self, progress, embed_dataset):
            features = embed_dataset()
            mirrored = embed_dataset(mirror)
            assert mirrored.shape == features.shape and not torch.equal(mirrored, features)
            calls.append(("epoch", progress.epoch, progress.step, tuple(features.shape)))

        def make_inputs(self, images, gen, indices=None):
            calls.append(("inputs", len(indices)))
            return images

        def loss(self, inputs, progress):
            calls.append(("loss", progress.step, progress.total_steps))
            return StepOutput(self.head(self.encoder(inputs)).pow(2).mean())

        def before_optimizer_step(self, progress):
            calls.append(("before", progress.step, any(p.grad is not None for p in self.parameters())))

        def after_optimizer_step(self, progress):
            calls.append(("after", progress.step))

    monkeypatch.setitem(tasks._REGISTRY, "fake", Fake)
    status = TrainingRun(TrainConfig(data="digits", task="fake", device="cpu"), tmp_path).run()
    assert status.state == "finished", status.message
    n = 1437 // 100  # digits: 1,437 training images, the preset's batch of 100
    assert status.total_steps == 2 * n
    one_step = lambda s: [("inputs", 100), ("loss", s, 2 * n), ("before", s, True), ("after", s)]  # noqa: E731
    expected = [("epoch", 1, 0, (1437, 192))] + [c for s in range(n) for c in one_step(s)]
    expected += [("epoch", 2, n, (1437, 192))] + [c for s in range(n, 2 * n) for c in one_step(s)]
    assert calls == expected


def test_unset_values_come_from_the_task_preset_and_set_ones_override_it(tmp_path):
    preset = task_class("simclr").preset
    config = TrainConfig(task="simclr", device="cpu").resolved()
    assert (config.epochs, config.batch_size, config.learning_rate) == (preset.epochs, preset.batch_size,
                                                                       preset.learning_rate)
    config = TrainConfig(task="simclr", device="cpu", epochs=3, learning_rate=0.01).resolved()
    assert (config.epochs, config.batch_size, config.learning_rate) == (3, preset.batch_size, 0.01)
    assert config.task_params["temperature"] == task_class("simclr").Params().temperature


def test_a_small_folder_trains_with_the_preset_batch_fitted_and_refuses_only_a_batch_the_user_set(tmp_path):
    folder = shapes_folder(tmp_path / "few", count=50)  # 40 training images: a small folder of a user's
    run = TrainingRun(TrainConfig(data=str(folder), task="simclr", device="cpu", epochs=1), tmp_path / "run")
    assert run.config.batch_size == 20 and run.steps_per_epoch == 2
    assert run.notes == ["simclr's preset for real data, not generated: 50 epochs of 128 items a step, learning "
                         "rate 0.004 (its card says why)",  # a user's folder is taken as photos
                         "batch size 20, not the preset's 128: few has 40 training images, and a batch of at most "
                         "half of them leaves two steps an epoch"]
    assert run.run().state == "finished"
    with pytest.raises(ValueError, match=r"batch size must be between 2 and 40 \(the training images of few\), "
                                         r"got 128"):
        TrainingRun(TrainConfig(data=str(folder), task="simclr", device="cpu", batch_size=128), tmp_path / "set")


def test_ten_images_train_and_ten_classes_of_one_image_are_refused_in_one_line(tmp_path):
    images = sorted(shapes_folder(tmp_path / "shapes", count=10).rglob("*.png"))
    for i, image in enumerate(images):  # ten images in two classes, one of them a single image
        (tmp_path / "ten" / ("lone" if i == 0 else "many")).mkdir(parents=True, exist_ok=True)
        image.rename(tmp_path / "ten" / ("lone" if i == 0 else "many") / image.name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing but the run's own lines on the screen
        run = TrainingRun(TrainConfig(data=str(tmp_path / "ten"), task="simclr", device="cpu", epochs=1),
                          tmp_path / "run")
        assert run.run().state == "finished" and run.config.batch_size == 4
    shapes_folder(tmp_path / "singles", count=10)
    ones = {len(list(folder.iterdir())) for folder in (tmp_path / "singles").iterdir()}
    with pytest.raises(ValueError, match="a class needs two for one to be held out") as refused:
        TrainingRun(TrainConfig(data=str(tmp_path / "singles"), task="simclr", device="cpu"), tmp_path / "r2")
    assert ones == {1} and "\n" not in str(refused.value)


@pytest.mark.parametrize("task", [name for name in NAMES if task_class(name).real_data_params])
def test_a_users_folder_takes_the_parameters_for_real_data_and_shapes_keeps_its_own(tmp_path, task):
    real = task_class(task).real_data_params
    folder = str(shapes_folder(tmp_path / "mine", count=20))  # a user's folder: taken as photos, whatever it holds
    on_folder = TrainConfig(task=task, data=folder, device="cpu").resolved()
    on_shapes = TrainConfig(task=task, data="shapes", device="cpu").resolved()
    assert {name: on_folder.task_params[name] for name in real} == real
    assert {name: on_shapes.task_params[name] for name in real} != real  # Shapes' own values, where they differ
    name, value = next(iter(real.items()))
    assert f"{name} {value}" in preset_note(on_folder) and preset_note(on_shapes) is None
    other = on_shapes.task_params[name]
    mine = TrainConfig(task=task, data=folder, device="cpu", task_params={name: other}).resolved()
    assert mine.task_params[name] == other and f"{name} {value}" not in (preset_note(mine) or "")


def test_a_preset_names_the_data_its_task_is_shown_on_and_a_named_data_set_wins():
    assert TrainConfig(task="colorization", device="cpu").resolved().data == "painted_shapes"
    assert TrainConfig(task="colorization", data="shapes", device="cpu").resolved().data == "shapes"
    assert TrainConfig(task="rotation", device="cpu").resolved().data == "shapes"
    views = TrainConfig(task="simclr", data="painted_shapes", device="cpu").resolved().task_params
    assert views["rotation_degrees"] == 180  # Shapes' views: painted shapes tilt and vary alike


def test_the_live_knn_agrees_with_the_probe_on_data_stored_in_class_order(tmp_path):
    """A folder is loaded class by class: the live k-NN's bank must still hold every class. Digits, each
    stored twice (once shifted by a pixel), make 2,875 training images: more than the live bank of 2,000."""
    from PIL import Image

    from workbench.data import load_dataset

    digits = load_dataset("digits")
    images = torch.cat([digits.train_items, digits.test_items])
    labels = torch.cat([digits.train_labels, digits.test_labels]).tolist()
    for i, (image, label) in enumerate(zip(images, labels)):
        folder = tmp_path / "data" / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        for copy, picture in enumerate((image, image.roll(1, dims=2))):
            Image.fromarray(picture.permute(1, 2, 0).numpy()).save(folder / f"{i}-{copy}.png")
    run = TrainingRun(TrainConfig(data=str(tmp_path / "data"), task="rotation", epochs=1, device="cpu"),
                      tmp_path / "run")
    status = run.run()
    assert status.state == "finished", status.message
    live, probe = status.evals[-1]["knn_top1"], probe_run(tmp_path / "run")["knn_top1"]
    assert live > 0.75, f"live k-NN {live:.3f}: a bank of the first 2,000 images would miss three classes"
    assert abs(live - probe) < 0.05, f"live k-NN {live:.3f} vs probe {probe:.3f}"


# A process that writes checkpoints of one run folder as fast as it can, each one's weights all equal to its
# step, going on from the step it finds there. ResNet-18 (45 MB a file), so that most of its time is writing.
CHECKPOINT_WRITER = """
import sys, torch
from workbench.engine.checkpoints import RunFolder, TrainingState
from workbench.models import create_encoder
from workbench.tasks import create_task
folder = RunFolder(sys.argv[1])
task = create_task("rotation", create_encoder("resnet18"))
step = folder.load_training_state().step if folder.checkpoint_file.exists() else 0
while True:
    step += 1
    with torch.no_grad():
        for parameter in task.parameters():
            parameter.fill_(step)
    state = TrainingState(step, step, 1, torch.arange(10), {}, {"augment": torch.zeros(16, dtype=torch.uint8)})
    folder.save_checkpoint(task, state, epoch_end=True)
"""


def test_a_kill_while_a_checkpoint_is_written_leaves_the_previous_one_loadable(tmp_path):
    folder = RunFolder(tmp_path)
    folder.write_config({"task": "rotation", "encoder_resolved": "resnet18", "seed": 0, "task_params": {}})
    last_step, torn = 0, 0
    for _ in range(4):
        writer = subprocess.Popen([sys.executable, "-c", CHECKPOINT_WRITER, str(tmp_path)])
        deadline = time.monotonic() + 60
        while not folder.checkpoint_file.exists() or folder.load_training_state().step <= last_step:
            assert time.monotonic() < deadline and writer.poll() is None, "the writer wrote no checkpoint"
            time.sleep(0.02)
        while not any(tmp_path.rglob(".*.tmp")):  # kill it while it writes a file
            assert time.monotonic() < deadline
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        torn += any(tmp_path.rglob(".*.tmp"))  # the kill came between a file's first byte and its rename

        step = folder.load_training_state().step
        task, _ = load_task(tmp_path)
        assert step > last_step
        assert all((parameter == step).all() for parameter in task.parameters())  # weights and state match
        history = folder.history()  # written before the checkpoint, pruned after it
        assert history[-1] in (step, step + 1)
        assert all(not epoch & (epoch - 1) for epoch in history[:-(HISTORY_EPOCHS + 1)])  # 1, 2, 4, 8, …
        folder.load_task(epoch=history[0])
        last_step = step
    assert torn, "no kill landed in the middle of a write: the test proved nothing"


def test_weights_of_another_model_are_refused_with_a_message_not_a_traceback():
    task = build_task("simclr", "small_cnn", 0)
    renamed = {name.replace("encoder.", "encoder.old."): t for name, t in task.state_dict().items()}
    other_size = build_task("simclr", "small_cnn", 0, projection_dim=64).state_dict()
    for weights in (renamed, other_size):
        with pytest.raises(ValueError, match="runs/old: its weights do not fit this version's SimCLR"):
            load_into(task, weights, "runs/old")


@pytest.mark.parametrize("interruption", ["stopped", "crashed"])
def test_a_resumed_run_repeats_the_losses_of_a_run_never_interrupted(tmp_path, interruption):
    """Cut after epoch one, either stopped (a checkpoint where it stops) or crashed (nothing saved after the
    epoch's checkpoint), then resumed: the same losses step for step as the run that was never cut."""
    data = str(shapes_folder(tmp_path / "data", count=120))
    config = TrainConfig(data=data, task="rotation", epochs=2, batch_size=16, device="cpu", seed=3)
    whole = TrainingRun(config, tmp_path / "whole").run()
    steps_per_epoch = whole.total_steps // 2

    cut = TrainingRun(config, tmp_path / "cut")

    def interrupt(event, status):
        if interruption == "stopped" and event == "eval" and status.epoch == 1:
            cut.stop()
        if interruption == "crashed" and event == "step" and status.epoch == 2:
            raise KeyboardInterrupt  # as a kill would: the run saves nothing more
    cut.listeners.append(interrupt)
    if interruption == "stopped":
        assert cut.run().state == "stopped"
    else:
        with pytest.raises(KeyboardInterrupt):
            cut.run()
    assert RunFolder(tmp_path / "cut").load_training_state().step == steps_per_epoch

    resumed = TrainingRun.go_on_from(tmp_path / "cut").run()
    assert resumed.state == "finished", resumed.message
    losses = {name: torch.tensor([record["loss"] for record in status.steps])
              for name, status in (("whole", whole), ("resumed", resumed))}
    assert losses["resumed"].shape == losses["whole"].shape == (2 * steps_per_epoch,)
    assert torch.allclose(losses["resumed"], losses["whole"], rtol=1e-5, atol=1e-6)
    assert [e["knn_top1"] for e in resumed.evals] == [e["knn_top1"] for e in whole.evals]
    assert len(RunFolder(tmp_path / "cut").read_metrics()["steps"]) == 2 * steps_per_epoch
    assert RunFolder(tmp_path / "cut").history() == [1, 2]
    with pytest.raises(ValueError, match="ask for more epochs"):
        TrainingRun.go_on_from(tmp_path / "cut")


def test_a_run_and_its_baseline_repeat_their_seed_while_the_page_draws_previews(tmp_path):
    """The page builds tasks of its own (each preview builds one from seed 0) while a run builds its task, or a
    probe rebuilds the run's random init: every one of them must get the weights of its own seed alone."""
    data = str(shapes_folder(tmp_path / "data", count=120))
    config = TrainConfig(data=data, task="gan", epochs=1, batch_size=16, device="cpu", seed=3)
    alone = TrainingRun(config, tmp_path / "alone").run()
    random_init = RunFolder(tmp_path / "alone").load_task(trained=False)[0].state_dict()
    task_preview("shapes", "gan", {}, seed=0)  # the data in memory, as on a page that shows it
    previews_drawn, done = [], threading.Event()

    def page():  # a student redrawing the preview, over and over
        while not done.is_set():
            previews_drawn.append(task_preview("shapes", "gan", {}, seed=len(previews_drawn)))

    neighbour = threading.Thread(target=page)
    neighbour.start()
    try:
        busy = TrainingRun(config, tmp_path / "busy").run()
        # Before builds took turns, about one in six of these differed (measured: 8 of 50).
        rebuilt = [RunFolder(tmp_path / "alone").load_task(trained=False)[0].state_dict() for _ in range(30)]
    finally:
        done.set()
        neighbour.join()
    assert len(previews_drawn) > 10
    assert all(torch.equal(weights[name], random_init[name]) for weights in rebuilt for name in random_init)
    losses = {name: torch.tensor([record["loss"] for record in status.steps])
              for name, status in (("alone", alone), ("busy", busy))}
    assert torch.equal(losses["alone"], losses["busy"])
    assert [e["knn_top1"] for e in busy.evals] == [e["knn_top1"] for e in alone.evals]


def test_a_time_budget_ends_the_run_on_time_with_a_checkpoint_and_a_low_learning_rate(tmp_path):
    config = TrainConfig(data="shapes", task="rotation", batch_size=16, device="cpu", max_minutes=0.25)
    run = TrainingRun(config, tmp_path)
    began = time.perf_counter()
    status = run.run()
    seconds = time.perf_counter() - began
    assert status.state == "finished" and "budget" in status.message, status.message
    assert 11 < seconds < 20, f"a budget of 15 s took {seconds:.1f} s"
    assert 5 < status.step < status.total_steps
    # Without the fitted schedule the run would end in its warm-up, near the peak learning rate.
    assert status.steps[-1]["lr"] < 0.25 * run.config.learning_rate
    assert RunFolder(tmp_path).load_training_state().step == status.step  # a checkpoint where it ended
    assert status.evals[-1]["step"] == status.step
