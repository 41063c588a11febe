"""A text run inspected: what the model sees (a table of tokens), the prompt a GPT continues, the nearest texts to a
sentence, the map's texts on hover, the probes beside both bags of words, the Projector's texts, the attention."""

import json

import pytest

from workbench.data import load_dataset
from workbench.data.kinds import KINDS
from workbench.engine.job import TrainingRun
from workbench.engine.settings import TrainConfig
from workbench.inspection.export import export_run
from workbench.inspection.maps import MapSettings, map_run
from workbench.inspection.mapview import map_document, map_title
from workbench.inspection.plots import attention_figure, loss_figure
from workbench.inspection.preview import task_preview
from workbench.inspection.probe_run import probe_run
from workbench.inspection.report import probe_markdown
from workbench.inspection.text import attention, continue_text, nearest_texts

STORY = "the big dog quickly chased the small cat . then the small cat bit the old fox ."


def short_run(out, task, seconds):
    """A real run of `task` on Roles, ended by a time budget of `seconds` (with a checkpoint)."""
    status = TrainingRun(TrainConfig(task=task, batch_size=32, device="cpu", max_minutes=seconds / 60), out).run()
    assert status.state == "finished" and status.step > 0, status.message
    return out


@pytest.fixture(scope="module")
def gpt_run(tmp_path_factory):
    """One short next_token run serves every test here: it writes, and it is a text encoder like BERT's (the
    page's test, test_app_text.py, trains mlm)."""
    return short_run(tmp_path_factory.mktemp("gpt"), "next_token", 10)


def test_the_preview_is_a_table_of_tokens_with_the_masked_ones_their_targets_and_the_guesses(gpt_run):
    masked = task_preview("roles", "mlm", {}, seed=0)
    assert isinstance(masked, str) and "must predict" in masked and "guesses</td>" not in masked
    cells = masked.count("[MASK]</td>")  # the input line's [MASK] cells, each highlighted as a target
    assert cells > 0 and masked.count('#fef3c7">[MASK]</td>') == cells
    shifted = task_preview("roles", "next_token", {}, seed=0)
    answered = task_preview("roles", "next_token", {}, seed=0, run_dir=gpt_run)
    assert "guesses</td>" in answered and answered.count("<table") == shifted.count("<table")
    assert answered.count('<b style="color:') >= 6 * 20  # a guess, right or wrong, under every token
    with pytest.raises(ValueError, match="holds texts"):
        task_preview("roles", "rotation", {}, seed=0)


def test_a_gpt_continues_a_prompt_the_same_way_near_temperature_zero_and_otherwise_by_seed(gpt_run):
    greedy = [continue_text(gpt_run, "the big dog", 12, temperature=0.0, seed=seed) for seed in (0, 1)]
    assert greedy[0] == greedy[1] and greedy[0].startswith("the big dog") and len(greedy[0]) > len("the big dog")
    drawn = {continue_text(gpt_run, "the big dog", 12, temperature=1.0, seed=seed) for seed in range(3)}
    assert len(drawn) > 1
    with pytest.raises(ValueError, match="Type some text"):
        continue_text(gpt_run, "   ", 5)


def test_the_nearest_texts_to_a_held_out_text_begin_with_itself(gpt_run):
    dataset = load_dataset("roles")
    text = dataset.texts(dataset.test_items[5:6])[0]
    found = nearest_texts(gpt_run, text, k=4)
    assert len(found) == 4 and found[0][0] == text and found[0][1] == pytest.approx(1.0, abs=1e-4)
    assert found[0][2] == dataset.class_names[dataset.test_labels[5]]
    assert [s for _, s, _ in found] == sorted((s for _, s, _ in found), reverse=True)


def test_the_map_of_a_text_run_shows_the_texts_on_hover_and_the_bag_of_words_as_baseline(gpt_run):
    result = map_run(gpt_run, settings=MapSettings(sample=120))
    texts = KINDS[result["kind"]].hover(result["items"])
    assert len(texts) == result["shown"] and all(isinstance(t, str) and " . " in t for t in texts)
    document = map_document(result, result["items"], map_title(result))
    data = json.loads(document.split("const MAP = ", 1)[1].split(";\n", 1)[0])
    assert data["texts"] == texts and "sprite" not in data and "held-out texts of roles" in document
    baseline = map_run(gpt_run, settings=MapSettings(representation="baseline", sample=120))
    assert baseline["what"].startswith("bag of words (1–2-gram")


def test_the_probes_report_both_bags_of_words_and_the_projector_carries_the_texts(gpt_run, tmp_path):
    result = probe_run(gpt_run)
    for key in ("bag_of_words", "bag_of_ngrams"):
        assert 0 <= result[f"{key}_knn_top1"] <= 1 and 0 <= result[f"{key}_linear_top1"] <= 1
    table = probe_markdown(result)
    assert "unigram TF-IDF" in table and "1–2-gram TF-IDF" in table and "held-out texts" in table
    written = export_run(gpt_run, "projector", tmp_path)
    assert sorted(path.name for path in written) == ["metadata.tsv", "projector_config.pbtxt", "vectors.tsv"]
    metadata = (tmp_path / "metadata.tsv").read_text(encoding="utf-8").splitlines()
    assert metadata[0] == "label\tclass\ttext" and len(metadata) == 1001 and metadata[1].endswith(" .")
    assert "sprite" not in (tmp_path / "projector_config.pbtxt").read_text()


def test_the_loss_plot_and_the_attention_of_a_text_run(gpt_run):
    metrics = json.loads((gpt_run / "metrics.json").read_text())
    figure = loss_figure(metrics["steps"], 100, metrics["evals"])
    assert [trace.name for trace in figure.data] == ["training", "held out"]
    seen = attention(gpt_run, STORY)
    assert seen["tokens"][:3] == ["the", "big", "dog"] and seen["maps"].shape[2:] == (18, 18)
    assert abs(seen["maps"].sum(-1) - 1).max() < 1e-4  # each token's attention sums to one
    assert len(attention_figure(seen).data) == seen["maps"].shape[0]  # a heatmap per layer
