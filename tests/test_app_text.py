"""The launched app on text, driven through gradio_client: Roles and BERT's masked words picked, the table of what
the model sees, a short run with its held-out loss and masked-token accuracy, then the map's texts, the nearest
texts to a sentence and the attention."""

import html
import json
import os
import socket
import time

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """An app of this module's own, so that "the latest run" is the run trained here."""
    os.environ.setdefault("GRADIO_TEMP_DIR", str(tmp_path_factory.mktemp("gradio")))
    from workbench.ui.app import serve

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = serve(port=port, runs_root=tmp_path_factory.mktemp("text-runs"), block=False,
                 data_roots=[tmp_path_factory.getbasetemp()])
    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
    yield client
    client.close()
    demo.close()


def wait_for(client, words, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = client.predict(api_name="/status")
        if words in status[0]:
            return status
        time.sleep(1)
    raise AssertionError(f"the status never said {words!r}; last: {status[0]}")


def test_roles_and_mlm_show_texts_and_a_table_of_masked_tokens(client):
    info, gallery, samples = client.predict("roles", api_name="/data")
    assert "5,000 training and 1,000 test texts" in info and not gallery
    assert samples["headers"] == ["class", "text"] and len(samples["data"]) == 12
    assert all("→" in name and " . " in text for name, text in samples["data"])
    card, params, *_ = client.predict("mlm", "roles", api_name="/task")
    assert "BERT" in card and params["mask_probability"] == 0.15
    picture, table = client.predict("roles", "mlm", 3, api_name="/preview")
    assert picture is None and "[MASK]" in table and "must predict" in table and "guesses</td>" not in table
    with pytest.raises(AppError, match="has a checkpoint yet"):
        client.predict("roles", "next_token", "the big dog", api_name="/continue_text")


def test_a_short_mlm_run_then_its_guesses_its_map_its_neighbours_and_its_attention(client):
    message, _ = client.predict("roles", "mlm", {}, "auto", 40, 32, 0.001, 0, "auto", 0.2, api_name="/start")
    assert message == "Training started."
    status = wait_for(client, "FINISHED")
    assert "masked-token accuracy" in status[0] and "held-out loss" in status[0] and "texts/s" in status[0]
    fresh_page = Client(client.src, verbose=False)  # a page that has drawn nothing yet is sent every plot
    loss_plot = json.loads(fresh_page.predict(api_name="/status")[2]["plot"])
    fresh_page.close()
    assert [trace["name"] for trace in loss_plot["data"]] == ["training", "held out"]

    _, table = client.predict("roles", "mlm", 3, api_name="/preview")
    assert "guesses</td>" in table  # the run's model answers under the masked tokens

    umap = html.unescape(client.predict("", None, "trained", "label", 2, 15, 0.1, "cosine", 150, api_name="/map"))
    texts = json.loads(umap.split("const MAP = ", 1)[1].split(";\n", 1)[0])["texts"]
    assert len(texts) >= 140 and all(" . " in text for text in texts) and "held-out texts of roles" in umap

    sentence = "the big dog quickly chased the small cat . then the small cat bit the old fox ."
    gallery, found = client.predict("", None, 0, None, sentence, api_name="/neighbours")
    assert not gallery and found["data"][0] == ["your text", "", sentence] and len(found["data"]) == 9
    assert -1 <= float(found["data"][1][0]) <= 1

    attention = json.loads(client.predict("", sentence, api_name="/attention")["plot"])
    assert [trace["type"] for trace in attention["data"]] == ["heatmap"] * 4  # a map per layer
