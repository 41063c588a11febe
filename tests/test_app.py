"""The launched app, driven through gradio_client as another program would."""

import json
import time

import numpy as np
import pytest
from PIL import Image
from gradio_client import Client
from gradio_client.exceptions import AppError


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
    info, gallery = client.predict("shapes", api_name="/data")
    assert "5,000 training" in info and len(gallery) == 20
    simclr = Image.open(client.predict("shapes", "simclr", 3, api_name="/preview"))
    rotation = Image.open(client.predict("shapes", "rotation", 3, api_name="/preview"))
    assert simclr.height == rotation.height  # one row per source image
    assert rotation.width > simclr.width  # four rotations per row against SimCLR's original and two views
    again = Image.open(client.predict("shapes", "rotation", 3, api_name="/preview"))
    assert np.array_equal(np.asarray(again), np.asarray(rotation))  # a seed draws the same preview


def test_start_poll_second_start_stop_and_map(client):
    message, _ = client.predict(api_name="/start")
    assert message == "Training started."
    message, _ = client.predict(api_name="/start")
    assert "already going" in message
    status = wait_for(client, lambda text: "epoch 2" in text)  # one epoch done: a checkpoint exists
    loss_plot = json.loads(status[2]["plot"])
    assert loss_plot["data"][0]["mode"] == "lines"
    assert "stop requested" in client.predict(api_name="/stop")
    wait_for(client, lambda text: "STOPPED" in text, timeout=60)

    table, umap = client.predict(api_name="/analyse")
    assert "trained encoder" in table and "raw pixels" in table and "linear probe" in table
    assert umap["type"] == "plotly" and '"name":"circle"' in umap["plot"].replace(" ", "")


def test_inspect_the_run_label_efficiency_neighbours_export(client):
    """Runs on the run the test above left (the latest of this app)."""
    runs = client.predict(api_name="/runs")
    assert len(runs["choices"]) >= 2  # "the latest run", then the run folders
    plot, table = client.predict("", None, [0.01, 0.1], 1, 10, api_name="/label_efficiency")
    assert "10% (500)" in table and "fine-tuning" in table and "raw pixels" in table
    assert len(json.loads(plot["plot"])["data"]) == 5  # 3 linear-probe lines, 2 fine-tuning lines

    gallery = client.predict("", None, 7, None, api_name="/neighbours")
    assert len(gallery) == 9 and gallery[0]["caption"].startswith("query — #7")
    assert all(-1 <= float(item["caption"].split(" · ")[0]) <= 1 for item in gallery[1:])

    umap = json.loads(client.predict("", None, "raw_pixels", "knn", 3, 15, 0.1, "cosine", 300, api_name="/map")["plot"])
    assert {trace["name"] for trace in umap["data"]} <= {"k-NN right", "k-NN wrong"}
    assert umap["data"][0]["type"] == "scatter3d" and "showing 300 of 1,000" in umap["layout"]["title"]["text"]

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


def test_bad_settings_get_a_message_and_the_app_keeps_serving(client, tmp_path):
    message, _ = client.predict("no/such/folder", api_name="/start")
    assert "no data set called" in message
    message, _ = client.predict(str(tmp_path), api_name="/start")
    assert "no sub-folders" in message
    with pytest.raises(AppError, match="less than minimum"):
        client.predict("shapes", "rotation", "auto", 20, 64, -5, api_name="/start")
    info, _ = client.predict("shapes", api_name="/data")
    assert "shapes" in info
