"""The queue of training runs: configs checked whole before any waits, trained one after another in the
background, each starting as the one before it ends; and the `queue` command that follows it on the terminal."""

import re
import shutil
import time

import pytest
from small_data import shapes_folder

from workbench import cli
from workbench.data import DataError
from workbench.engine.checkpoints import RunFolder
from workbench.engine.manager import JobManager
from workbench.engine.settings import TrainConfig
from workbench.ui.live_view import status_line

UNTIL_STOPPED = 10_000  # epochs: a run that goes on until the test stops it (two steps an epoch on the data)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> str:
    """A folder of 120 Shapes images: the preset's batch fitted to it makes two steps an epoch."""
    return str(shapes_folder(tmp_path_factory.mktemp("data"), count=120))


def config(data: str, task: str = "rotation", epochs: int = 1) -> TrainConfig:
    return TrainConfig(data=data, task=task, epochs=epochs, device="cpu")


def test_queued_runs_train_one_after_another_in_order(tmp_path, data):
    manager = JobManager(tmp_path / "runs")
    configs = [config(data, "rotation", epochs=2), config(data, "simclr")]
    assert manager.enqueue(configs) == configs
    first = manager.current
    assert first.config.task == "rotation" and manager.queued() == configs[1:]
    first.join(timeout=60)
    second = manager.current
    assert second is not first and second.config.task == "simclr" and manager.queued() == []
    second.join(timeout=60)
    for run in (first, second):
        status = run.status()
        assert status.state == "finished", status.message
        metrics = RunFolder(run.out_dir).read_metrics()
        assert metrics["state"] == "finished" and 0 <= metrics["evals"][-1]["knn_top1"] <= 1
    # The second began only once the first had ended: the first's last metrics, then the second's config.
    assert (first.out_dir / "metrics.json").stat().st_mtime_ns <= (second.out_dir / "config.json").stat().st_mtime_ns
    assert manager.current is second and manager.queue_errors == []


def test_a_bad_config_refuses_the_whole_batch_and_names_itself(tmp_path, data):
    manager = JobManager(tmp_path / "runs")
    good = config(data)
    with pytest.raises(ValueError, match=r"^queued run 2 of 3 \(simclr\): epochs must be between 1 and 10000, got 0$"):
        manager.enqueue([good, config(data, "simclr", epochs=0), good])
    with pytest.raises(DataError, match=r"^queued run 1 of 2 \(rotation\): no data set called"):
        manager.enqueue([config(str(tmp_path / "nowhere")), good])
    with pytest.raises(ValueError, match=r"^queued run 2 of 2 \(rotation\): batch size must be between 2 and 100 "):
        manager.enqueue([good, TrainConfig(data=data, batch_size=500, device="cpu")])  # too big for the data
    assert manager.queued() == [] and manager.current is None and not (tmp_path / "runs").exists()


def test_clearing_the_queue_drops_what_waits_and_the_current_run_goes_on(tmp_path, data):
    manager = JobManager(tmp_path / "runs")
    manager.enqueue([config(data, epochs=UNTIL_STOPPED), config(data), config(data, "simclr")])
    run = manager.current
    assert manager.clear_queue() == 2 and manager.queued() == [] and manager.clear_queue() == 0
    step, deadline = run.status().step, time.monotonic() + 30
    while run.status().step <= step and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.status().state == "running" and run.status().step > step  # it went on training
    run.stop()
    run.join(timeout=60)
    assert run.status().state == "stopped" and manager.current is run
    assert [folder.name for folder in (tmp_path / "runs").iterdir()] == [run.out_dir.name]


def test_stopping_the_current_run_starts_the_next_queued_one(tmp_path, data):
    manager = JobManager(tmp_path / "runs")
    first = manager.start(config(data, epochs=UNTIL_STOPPED))
    manager.enqueue([config(data, "simclr")])  # behind the run going
    assert manager.current is first and [c.task for c in manager.queued()] == ["simclr"]
    first.stop()
    first.join(timeout=60)
    second = manager.current
    assert second is not first and second.config.task == "simclr"
    second.join(timeout=60)
    assert first.status().state == "stopped" and second.status().state == "finished", second.status().message


def test_start_and_go_on_are_refused_while_configs_wait_in_the_queue(tmp_path, data):
    manager = JobManager(tmp_path / "runs")
    manager.enqueue([config(data, epochs=UNTIL_STOPPED), config(data)])
    run = manager.current
    with pytest.raises(RuntimeError, match="the queue holds 1 more: clear the queue and stop the run first, or wait"):
        manager.start(config(data))
    with pytest.raises(RuntimeError, match="clear the queue"):
        manager.go_on(run.out_dir)
    manager.clear_queue()
    with pytest.raises(RuntimeError, match="already going: stop it first"):
        manager.start(config(data))
    run.stop()
    run.join(timeout=60)
    assert manager.current is run  # nothing else started


def test_a_queued_config_that_cannot_start_is_skipped_with_its_reason(tmp_path, data):
    doomed = shapes_folder(tmp_path / "doomed", count=60)
    manager = JobManager(tmp_path / "runs")
    manager.enqueue([config(data, epochs=UNTIL_STOPPED), config(str(doomed)), config(data, "simclr")])
    shutil.rmtree(doomed)  # gone between the check and its turn
    first = manager.current
    first.stop()
    first.join(timeout=60)
    third = manager.current
    assert third is not first and third.config.task == "simclr" and manager.queued() == []
    [reason] = manager.queue_errors
    assert reason.startswith("queued rotation did not start: no data set called") and str(doomed) in reason
    assert reason in status_line(third.status(), 0, manager.queue_errors)  # the page's line above every step says it
    third.join(timeout=60)
    assert third.status().state == "finished", third.status().message


def test_the_queue_command_trains_its_tasks_in_turn_and_prints_each(tmp_path, data, capsys):
    root = tmp_path / "runs"
    assert cli.main(["queue", "--data", data, "--tasks", "rotation", "simclr", "--epochs", "1", "--device", "cpu",
                     "--root", str(root)]) == 0
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert [re.match(r"\[(\d/\d)\] (\w+) (\w+)", line).groups() for line in lines] == [
        ("1/2", "rotation", "started"), ("1/2", "rotation", "finished"),
        ("2/2", "simclr", "started"), ("2/2", "simclr", "finished")], err
    rotation, simclr = sorted(root.iterdir())
    assert str(rotation) in lines[1] and str(simclr) in lines[3] and "k-NN 0." in lines[1]
    header, *rows = out.strip().splitlines()
    assert header.split() == ["task", "state", "seconds", "k-NN", "run", "folder"]
    assert [row.split()[:2] for row in rows] == [["rotation", "finished"], ["simclr", "finished"]]
    assert [row.split()[-1] for row in rows] == [str(rotation), str(simclr)]


def test_the_queue_command_refuses_a_wrong_task_in_one_line_before_anything_trains(tmp_path, data, capsys):
    root = tmp_path / "runs"
    assert cli.main(["queue", "--data", data, "--tasks", "rotation", "telepathy", "--root", str(root)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: queued run 2 of 2 (telepathy): unknown task"), lines
    assert not root.exists()
