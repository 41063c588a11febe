"""The launched app, driven through gradio_client as another program would."""

import html
import io
import json
import re
import time
import zipfile

import numpy as np
import pytest
from PIL import Image
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from test_data_corpus import make_corpus
from test_data_sources import _write_mnist_files


@pytest.fixture(scope="module")
def client(app_url):
    client = Client(app_url, verbose=False)
    yield client
    client.close()


def wait_for(client, predicate, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = client.predict(api_name="/status")
        if predicate(status[0]):
            return status
        time.sleep(1)
    raise AssertionError(f"status never matched; last: {status[0]}")


def test_data_and_preview(client):
    info, gallery = client.predict("shapes", api_name="/data")[:2]
    assert "5,000 training" in info and len(gallery) == 20
    simclr = Image.open(client.predict("shapes", "simclr", 3, api_name="/preview")[0])
    rotation = Image.open(client.predict("shapes", "rotation", 3, api_name="/preview")[0])
    assert simclr.height == rotation.height  # one row per source image
    assert rotation.width > simclr.width  # four rotations per row against SimCLR's original and two views
    again = Image.open(client.predict("shapes", "rotation", 3, api_name="/preview")[0])
    assert np.array_equal(np.asarray(again), np.asarray(rotation))  # a seed draws the same preview
    grey = np.asarray(Image.open(client.predict("shapes", "rotation", 3, {}, 32, True, api_name="/preview")[0]))
    assert np.ptp(grey.astype(int), axis=2).max() < 30  # read in grey, as training will (only the captions' ink tints)
    assert np.ptp(np.asarray(rotation).astype(int), axis=2).max() > 50


def preview_pixels(client, data, size=32):
    return np.asarray(Image.open(client.predict(data, "rotation", 3, {}, size, False, api_name="/preview")[0]))


def test_start_poll_second_start_stop_and_map(client):
    untrained = {read: preview_pixels(client, *read) for read in (("shapes", 32), ("digits", 32), ("shapes", 40))}
    message, _ = client.predict(api_name="/start")
    assert message == "Training started."
    message, _ = client.predict(api_name="/start")
    assert "already going" in message
    status = wait_for(client, lambda text: "RUNNING" in text, timeout=60)
    assert status[4]["data"][0][-1] == "running"  # the runs table says what the status says, from the first poll
    status = wait_for(client, lambda text: "epoch 2" in text)  # one epoch done: a checkpoint exists
    deadline = time.time() + 30
    while "plot" not in status[2] and time.time() < deadline:  # the loss is redrawn every few seconds
        time.sleep(1)
        status = client.predict(api_name="/status")
    loss_plot = json.loads(status[2]["plot"])
    assert loss_plot["data"][0]["mode"] == "lines"
    assert "stop requested" in client.predict(api_name="/stop")
    status = wait_for(client, lambda text: "STOPPED" in text, timeout=60)
    runs = status[4]
    name = runs["data"][0][0]
    assert runs["headers"][:3] == ["run", "task", "data"] and runs["data"][0][-1] == "stopped"
    repeat = client.predict(name, api_name="/repeat")  # the picked run's command line and Python call
    assert repeat.startswith("python -m workbench train --data shapes --task rotation") and "--seed 0" in repeat
    assert "TrainingRun(TrainConfig(data='shapes', task='rotation'" in repeat

    # The runs table's run goes on where it stopped, to the end of its second epoch.
    message, _ = client.predict(name, 2, 0, api_name="/resume_run")
    assert message == f"Going on with {name}."
    status = wait_for(client, lambda text: "FINISHED" in text and "epoch 2 / 2" in text, timeout=120)
    assert status[4]["data"][0][:4] == [name, "rotation", "shapes", "2 / 2"]
    # The preview draws the run's answers on the data it trained on, read as it read it (32 px), and nothing of
    # the run's on other data or at another size.
    assert not np.array_equal(preview_pixels(client, "shapes"), untrained["shapes", 32])
    assert np.array_equal(preview_pixels(client, "digits"), untrained["digits", 32])
    assert np.array_equal(preview_pixels(client, "shapes", 40), untrained["shapes", 40])
    with pytest.raises(AppError, match="not a run with a checkpoint"):
        client.predict("../elsewhere", 3, 0, api_name="/resume_run")

    table, confusion, umap = client.predict(api_name="/analyse")
    assert "trained encoder" in table and "raw pixels" in table and "linear probe" in table
    assert json.loads(confusion["plot"])["data"][0]["type"] == "heatmap"
    table, *_ = client.predict("", None, 5, 0.07, "euclidean", api_name="/analyse")
    assert "k = 5, euclidean" in table
    with pytest.raises(AppError, match="temperature > 0"):
        client.predict("", None, 5, 0, "cosine", api_name="/analyse")
    assert "<iframe" in umap and '"name": "circle"' in html.unescape(umap)  # the map, one trace per class


def test_inspect_the_run_label_efficiency_neighbours_export(client):
    """Runs on the run the test above left (the latest of this app)."""
    runs = client.predict(api_name="/runs")
    assert len(runs["choices"]) >= 2  # "the latest run", then the run folders
    plot, table = client.predict("", None, [0.01, 0.1], 1, 10, api_name="/label_efficiency")
    assert "10% (500)" in table and "fine-tuning" in table and "raw pixels" in table
    assert len(json.loads(plot["plot"])["data"]) == 5  # 3 linear-probe lines, 2 fine-tuning lines

    gallery, _ = client.predict("", None, 7, None, api_name="/neighbours")
    assert len(gallery) == 9 and gallery[0]["caption"].startswith("query — #7")
    assert all(-1 <= float(item["caption"].split(" · ")[0]) <= 1 for item in gallery[1:])

    umap = html.unescape(client.predict("", None, "baseline", "knn", 3, 15, 0.1, "cosine", 300, api_name="/map"))
    assert '"name": "k-NN right"' in umap and '"type": "scatter3d"' in umap and "showing 300 of 1,000" in umap

    files = client.predict("", "projector", api_name="/export")
    assert sorted(f.rsplit("/", 1)[-1] for f in files) == ["metadata.tsv", "projector_config.pbtxt",
                                                            "sprite.png", "vectors.tsv"]


def test_inspection_refuses_what_it_cannot_measure(client, tmp_path):
    with pytest.raises(AppError, match="not in the list of choices"):
        client.predict(str(tmp_path), None, api_name="/analyse")  # a folder outside the app's runs
    with pytest.raises(AppError, match="from 0 to 999"):
        client.predict("", None, 5000, None, api_name="/neighbours")
    with pytest.raises(AppError, match="at least one share"):
        client.predict("", None, [], 1, 0, api_name="/label_efficiency")


def test_task_parameters_travel_as_one_dict_and_a_time_budget_ends_the_run(client):
    card, params, *_ = client.predict("simclr", "shapes", api_name="/task")
    assert "SimCLR" in card and params["temperature"] > 0  # the task's defaults, as one dict
    hot = Image.open(client.predict("shapes", "simclr", 3, {**params, "crop_min_scale": 0.9}, api_name="/preview")[0])
    cold = Image.open(client.predict("shapes", "simclr", 3, {**params, "crop_min_scale": 0.08}, api_name="/preview")[0])
    assert not np.array_equal(np.asarray(hot), np.asarray(cold))  # the dict reaches the training code's views
    message, _ = client.predict("shapes", "rotation", {}, "auto", 50, 64, 0.004, 0, "auto", 0.1, api_name="/start")
    assert message == "Training started."
    status = wait_for(client, lambda text: "FINISHED" in text, timeout=120)
    assert "time budget" in status[0] and "epoch 50 / 50" not in status[0]


def test_an_uploaded_zip_becomes_the_data_and_its_report_is_shown(client, tmp_path):
    archive = tmp_path / "my photos.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in ("cats", "dogs"):
            for i in range(6):
                picture = io.BytesIO()
                Image.fromarray(np.full((20, 30, 3), 40 * i, np.uint8)).save(picture, format="PNG")
                zipped.writestr(f"photos/{name}/{i}.png", picture.getvalue())
        zipped.writestr("photos/dogs/notes.png", b"not an image at all")
    folder = client.predict(handle_file(str(archive)), api_name="/upload_zip")
    assert folder.endswith("/photos") and "ssl-workbench-uploads" in folder
    info, gallery = client.predict(folder, api_name="/data")[:2]
    assert "| cats | 5 | 1 |" in info and "not an image (the file is text)" in info and len(gallery) == 4

    escaping = tmp_path / "escape.zip"
    with zipfile.ZipFile(escaping, "w") as zipped:
        zipped.writestr("../outside.png", b"x")
    with pytest.raises(AppError, match="outside"):
        client.predict(handle_file(str(escaping)), api_name="/upload_zip")


def test_a_torchvision_set_on_disk_is_data_and_a_download_is_asked_for(client, tmp_path):
    _write_mnist_files(tmp_path / "MNIST" / "raw", gzipped=False)
    info, gallery = client.predict(f"mnist:{tmp_path}", api_name="/data")[:2]
    assert "30 training and 20 test images, 10 classes" in info and len(gallery) == 20
    info, _ = client.predict(f"cifar10:{tmp_path}", api_name="/data")[:2]  # not there, and no download asked for
    assert "CIFAR-10" in info and "cifar-10-batches-py" in info


def test_the_page_reports_every_bad_file_of_a_folder_and_loads_the_rest(client, tmp_path):
    reasons = make_corpus(tmp_path / "corpus", tmp_path / "outside")
    info, gallery = client.predict(str(tmp_path / "corpus"), api_name="/data")[:2]
    assert "| circles |" in info and "| squares |" in info and len(gallery) == 4
    for reason in reasons.values():
        assert reason in info
    assert "a link that leads outside" in info and "CMYK" in info


def test_bad_settings_get_a_message_and_the_app_keeps_serving(client, tmp_path):
    message, _ = client.predict(str(tmp_path / "no" / "such" / "folder"), api_name="/start")
    assert "no data set called" in message
    message, _ = client.predict("/etc", api_name="/start")  # a real folder, outside the app's data roots
    assert "outside the folders this app may read" in message
    info, gallery = client.predict("/etc", api_name="/data")[:2]
    assert "outside the folders" in info and gallery == []
    message, _ = client.predict(str(tmp_path), api_name="/start")
    assert "holds no images" in message
    with pytest.raises(AppError, match="less than minimum"):
        client.predict("shapes", "rotation", {}, "auto", 20, 64, -5, api_name="/start")
    message, _ = client.predict("shapes", "rotation", {"no_such_knob": 1}, api_name="/start")
    assert "no_such_knob" in message
    info, _ = client.predict("shapes", api_name="/data")[:2]
    assert "shapes" in info


def test_a_page_started_with_auth_lets_in_only_who_gives_the_password(tmp_path, port):
    from workbench.ui.app import serve

    demo = serve(port=port, runs_root=tmp_path / "runs", block=False, auth=("teacher", "s3cret"),
                 data_roots=[tmp_path])
    try:
        url = f"http://127.0.0.1:{port}/"
        with pytest.raises(Exception):
            Client(url, verbose=False)  # no password: not even the API's description
        with pytest.raises(Exception):
            Client(url, auth=("teacher", "wrong"), verbose=False)
        client = Client(url, auth=("teacher", "s3cret"), verbose=False)
        info, _ = client.predict("shapes", api_name="/data")[:2]
        assert "5,000 training" in info
        client.close()
    finally:
        demo.close()


def test_every_handler_runs_in_a_thread_that_ends_with_it_and_keeps_gradios_context():
    """Threads that compute with torch keep an OpenMP pool while they live (see `in_a_thread_of_its_own`)."""
    import contextvars
    import inspect
    import threading

    import gradio as gr

    from workbench.ui.app import in_a_thread_of_its_own

    request = contextvars.ContextVar("request", default=None)
    request.set("this page's")
    seen = []

    def handler(x, progress=gr.Progress()):
        seen.append((threading.current_thread(), request.get()))
        return 2 * x

    wrapped = in_a_thread_of_its_own(handler)
    assert wrapped(21) == 42
    thread, context = seen[0]
    assert thread is not threading.current_thread() and not thread.is_alive() and context == "this page's"
    assert "progress" in inspect.signature(wrapped).parameters  # Gradio still finds its special arguments

    def refusing():
        raise gr.Error("a clear message")

    with pytest.raises(gr.Error, match="a clear message"):
        in_a_thread_of_its_own(refusing)()


def test_the_quick_demo_trains_a_minute_then_shows_k_nn_against_random_init_and_pixels_and_the_map(client):
    """One click on step 1, nothing else touched: rotation on Shapes for a minute, then section 5's table and map.
    It learns: the trained encoder's k-NN ends above its random init's by a margin."""
    wait_for(client, lambda text: "RUNNING" not in text and "PAUSED" not in text, timeout=120)
    started = time.time()
    started_message, _ = client.predict(api_name="/quick_demo")  # the run starts: the page's poll follows it
    assert started_message.startswith("**Quick demo:** *Rotation") and "1 minute" in started_message
    message, table, _, umap = client.predict(api_name="/quick_demo_result")  # it waits, measures and maps
    assert time.time() - started < 150  # 60 s of training and the measuring (90 s on an idle 2-core machine)
    assert message.startswith("**Quick demo:** *Rotation") and "shapes" in message
    trained = float(re.search(r"\| trained encoder \(rotation\) \| \*\*([0-9.]+)\*\*", table).group(1))
    random_init = float(re.search(r"\| same encoder, random init \| ([0-9.]+)", table).group(1))
    assert "raw pixels" in table and trained > random_init + 0.15
    assert f"**{trained:.3f}**" in message and f"random init scores {random_init:.3f}" in message  # said at once
    assert "<iframe" in umap and '"name": "circle"' in html.unescape(umap)  # coloured by class: a trace per class
