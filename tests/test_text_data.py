"""Text data: tokens that read back, the generated Roles corpus, your own files and folders (plain, CSV, JSON lines,
class folders), Debian's fortunes, what every bad input is told, and `data check` on text. All files are written
here by the tests; nothing reaches the network."""

import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

import workbench.data
from workbench.cli import main
from workbench.data import DataError, available_builtins, load_dataset
from workbench.data.check import check_data, check_markdown
from workbench.data.text import fortunes
from workbench.data.text.corpus import CLASS_NAMES, generate_roles
from workbench.data.text.files import CHUNK, LENGTH, MAX_LINE
from workbench.data.text.tokens import PAD, UNK, decode, encode_characters, encode_words, pad


@pytest.mark.parametrize("text", ["plain ASCII, with punctuation!", "naïve café — Zürich", "日本語 and 🙂",
                                  "tabs\tand\nnew lines"])
def test_character_tokens_read_back_as_the_text(text):
    tokens = encode_characters(text)
    assert len(tokens) == len(text.encode("utf-8"))  # one token a byte: an accented letter takes two
    assert decode(tokens) == text
    assert decode(pad([tokens], len(tokens) + 5)[0]) == text  # [PAD] reads as nothing


def test_word_tokens_read_back_and_an_unknown_word_is_unk():
    story = "the big dog quickly chased the small cat ."
    assert decode(encode_words(story)) == story
    assert encode_words("the unicorn")[1] == UNK


def test_roles_are_reproducible_from_their_seed_and_balanced():
    texts, tokens, labels = generate_roles(600, seed=3)
    again_texts, again_tokens, again_labels = generate_roles(600, seed=3)
    assert texts == again_texts and torch.equal(tokens, again_tokens) and torch.equal(labels, again_labels)
    assert generate_roles(600, seed=4)[0] != texts
    counts = torch.bincount(labels, minlength=len(CLASS_NAMES))
    assert counts.min() >= 70 and counts.max() <= 130  # 100 expected; 3.3 standard deviations either side
    assert decode(tokens[0]) == texts[0]


def _class_folders(root, per_class=10):
    for name in ("news", "poems"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            (root / name / f"{i}.txt").write_text(f"a {name} text, number {i}\n", encoding="utf-8")


def test_a_folder_of_class_folders_loads_with_its_labels_and_a_split_of_every_class(tmp_path):
    _class_folders(tmp_path / "data")
    (tmp_path / "data" / "poems" / "long.txt").write_text("é" * 100, encoding="utf-8")  # 200 tokens: cut at a letter
    (tmp_path / "secret.txt").write_text("outside the folder: never read")
    (tmp_path / "data" / "news" / "link.txt").symlink_to(tmp_path / "secret.txt")
    (tmp_path / "data" / ".hidden.txt").write_text("passed over")
    data = load_dataset(str(tmp_path / "data"), image_size=3, grayscale=True)  # image options: not for text
    assert data.kind.name == "text" and data.class_names == ["news", "poems"]
    assert torch.bincount(data.test_labels).tolist() == [2, 2]  # 20 % of every class, seed 0
    assert torch.bincount(data.train_labels).tolist() == [8, 9]
    for items, labels in ((data.train_items, data.train_labels), (data.test_items, data.test_labels)):
        for text, label in zip(data.texts(items), labels.tolist()):
            assert text == "é" * (LENGTH // 2) or text.startswith(f"a {data.class_names[label]} text")
    assert any(f"cut 1 of 21 texts to their first {LENGTH} tokens" in note for note in data.notes)
    assert any("news/link.txt: a link that leads outside the folder" in note for note in data.notes)
    assert load_dataset(str(tmp_path / "data")) is data  # the in-process cache, whatever the image options were
    (tmp_path / "data" / "news" / "0.txt").write_text("changed on disk, read again\n", encoding="utf-8")
    assert load_dataset(str(tmp_path / "data")) is not data


def test_a_folder_with_train_and_test_folders_is_that_split(tmp_path):
    _class_folders(tmp_path / "train", per_class=4)
    _class_folders(tmp_path / "test", per_class=2)
    data = load_dataset(str(tmp_path))
    assert len(data.train_items) == 8 and len(data.test_items) == 4 and data.class_names == ["news", "poems"]


def test_csv_and_json_lines_find_their_columns_by_name(tmp_path):
    rows = [(f"review number {i}, with a comma", ["2", "10"][i % 2]) for i in range(20)]
    (tmp_path / "reviews.csv").write_text("id;Sentence;Category\n" + "".join(
        f'{i};"{text}";{label}\n' for i, (text, label) in enumerate(rows)) + "20;;2\n21;no label here;\n")
    data = load_dataset(str(tmp_path / "reviews.csv"))
    assert data.class_names == ["2", "10"]  # numbers sorted by value
    assert sorted(data.texts(torch.cat([data.train_items, data.test_items]))) == sorted(text for text, _ in rows)
    assert any("line 22: empty text" in note for note in data.notes)
    assert any("line 23: no label" in note for note in data.notes)
    lines = [json.dumps({"TEXT": f"texte {i} à lire", "label": ["oui", "non"][i % 2], "id": i}) for i in range(20)]
    (tmp_path / "texts.jsonl").write_text("\n".join(lines + ["{not json", "[1, 2]"]) + "\n", encoding="utf-8")
    data = load_dataset(str(tmp_path / "texts.jsonl"))
    assert data.class_names == ["non", "oui"] and len(data.train_items) + len(data.test_items) == 20
    for text, label in zip(data.texts(data.train_items), data.train_labels.tolist()):
        assert int(re.search(r"\d+", text)[0]) % 2 == ["non", "oui"].index(data.class_names[label]) ^ 1
    assert any("line 21: not valid JSON" in note for note in data.notes)


def _stream(pieces: torch.Tensor) -> list[int]:
    """The token stream that overlapping pieces were cut from: each piece starts on the last token of the one
    before."""
    rows = [row[row != PAD].tolist() for row in pieces]
    return rows[0] + [token for row in rows[1:] for token in row[1:]]


def test_a_plain_file_is_cut_into_pieces_and_its_end_held_out_in_one_piece(tmp_path):
    text = "".join(f"Line {i}: the quick brown fox jumps over the lazy dog. \n" for i in range(400))
    (tmp_path / "book.txt").write_text(text, encoding="utf-8")
    data = load_dataset(str(tmp_path / "book.txt"), test_fraction=0.1)
    assert not data.labelled and data.train_items.shape[1] == CHUNK
    train, test, tokens = _stream(data.train_items), _stream(data.test_items), encode_characters(text)
    assert train + test == tokens and len(test) == round(len(tokens) * 0.1)  # contiguous: the file's last tenth
    assert (data.train_items[:-1] != PAD).all()  # only the last piece of each part is filled up
    assert len(data.train_items) == -(-(len(train) - 1) // (CHUNK - 1))  # every token but the first predicted once


def test_a_huge_line_is_cut_with_a_note(tmp_path):
    (tmp_path / "data.txt").write_text("prose to begin with.\n" * 100 + "x" * (MAX_LINE * 3) + "\nthe end\n")
    data = load_dataset(str(tmp_path / "data.txt"))
    assert any(f"line 101 holds {MAX_LINE * 3:,}" in note for note in data.notes)
    assert len(_stream(data.train_items) + _stream(data.test_items)) == 21 * 100 + MAX_LINE + len("\nthe end\n")


def _image(path):
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(path)


def _bad_inputs(tmp_path):
    """(path, what its one line must say) for every kind of bad text input."""
    cases = {"binary.txt": (b"\x00\x01\x02 not text", "NUL bytes"), "empty.txt": (b"", "empty file (0 bytes)"),
             "latin1.txt": (b"fine first line\nun caf\xe9 au lait\n", "not UTF-8: line 2, byte 7 is 0xE9"),
             "paper.txt": (b"%PDF-1.7\n...", "looks like a PDF"), "blank.txt": (b"\n \n\t\n", "only blank lines"),
             "short.txt": (b"too short to learn from\n", "too short to learn from"),
             "nolabel.csv": (b"Text,author\nhello,me\n", "no label column: name it label or class or category "
                                                         "(its columns: 'Text', 'author')"),
             "nolabel.jsonl": (b'{"text": "hi", "stars": 3}\n', "no label key")}
    for name, (data, _) in cases.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "no_texts" / "empty_class").mkdir(parents=True)
    (tmp_path / "no_texts" / "notes.md").write_text("# not a .txt file")
    for name in ("a", "b"):
        (tmp_path / "lonely" / name).mkdir(parents=True)
        (tmp_path / "lonely" / name / "one.txt").write_text("the only text of its class")
        (tmp_path / "both" / name).mkdir(parents=True)
        (tmp_path / "both" / name / "one.txt").write_text("a text")
    _image(tmp_path / "both" / "b" / "picture.png")
    return [(tmp_path / name, why) for name, (_, why) in cases.items()] + [
        (tmp_path / "no_texts", "holds neither images nor .txt files (it holds .md files)"),
        (tmp_path / "lonely", "every class has fewer than 2 texts"),
        (tmp_path / "both", "holds both images and .txt files in its class sub-folders")]


def test_every_bad_text_input_gets_one_clear_line(tmp_path, capsys):
    for path, why in _bad_inputs(tmp_path):
        with pytest.raises(DataError) as caught:
            load_dataset(str(path))
        message = str(caught.value)
        assert why in message and "\n" not in message and "Traceback" not in message, (path.name, message)
        assert main(["data", "check", str(path)]) == 1
        out = capsys.readouterr()
        assert "**Cannot be used:** " in out.out and why in out.out and not out.err


def test_a_readme_beside_image_classes_leaves_an_image_folder(tmp_path):
    for name in ("cats", "dogs"):
        (tmp_path / name).mkdir()
        for i in range(3):
            _image(tmp_path / name / f"{i}.png")
    (tmp_path / "README.txt").write_text("where these pictures come from")
    assert load_dataset(str(tmp_path), image_size=8).kind.name == "image"


def _fake_fortunes(folder):
    """The kept files, a few fortunes each (one underlined by overstrike, one too long, one unfit, one in two
    files), and an off/ folder and a left-out file that must never be opened."""
    folder.mkdir()
    for name in fortunes.CATEGORIES:
        entries = [f"A saying about {name}, number {i}.\n\t\t-- Someone" for i in range(5)]
        entries += ["_\bu_\bn_\bd_\be_\br_\bl_\bi_\bn_\be_\bd " + name, "long " * 50, "a joke about sex " + name,
                    "In two files at once."]
        (folder / name).write_text("\n%\n".join(entries) + "\n%\n", encoding="utf-8")
    (folder / "off").mkdir()
    (folder / "off" / "racism").write_text("never to be read\n%\n")
    (folder / "ethnic").write_text("never to be read\n%\n")


def test_fortunes_keep_the_chosen_files_and_drop_what_a_classroom_should_not_see(tmp_path, monkeypatch):
    monkeypatch.setattr(fortunes, "FORTUNES_DIR", tmp_path / "missing")
    assert "fortunes" not in available_builtins()
    with pytest.raises(DataError, match="apt-get install fortunes fortunes-min"):
        load_dataset("fortunes")
    _fake_fortunes(tmp_path / "fortunes")
    monkeypatch.setattr(fortunes, "FORTUNES_DIR", tmp_path / "fortunes")
    read = []
    real_read = fortunes.read_fortunes
    monkeypatch.setattr(fortunes, "read_fortunes", lambda path: read.append(path) or real_read(path))
    assert list(available_builtins())[-2:] == ["roles", "fortunes"]
    data = load_dataset("fortunes")
    assert sorted(path.name for path in read) == sorted(fortunes.CATEGORIES)  # never off/ nor a left-out file
    texts = data.texts(torch.cat([data.train_items, data.test_items]))
    assert len(texts) == 6 * len(fortunes.CATEGORIES) and data.class_names == list(fortunes.CATEGORIES)
    assert "underlined computers" in texts and "A saying about art, number 0.\n-- Someone" in texts
    assert not any("sex" in text or "long long" in text or "two files" in text for text in texts)
    assert torch.bincount(data.test_labels).tolist() == [1] * len(fortunes.CATEGORIES)  # 20 % of six


@pytest.mark.skipif(not fortunes.installed(), reason="Debian's fortunes are not installed (`apt-get install "
                                                     "fortunes fortunes-min`; tests/run.sh does)")
def test_debians_fortunes_load_when_installed():
    data = load_dataset("fortunes")
    assert data.class_names == list(fortunes.CATEGORIES) and data.labelled
    train, test = (torch.bincount(labels, minlength=12) for labels in (data.train_labels, data.test_labels))
    assert (train + test).min() >= 150 and len(data.train_items) + len(data.test_items) > 4000
    assert ((test - (train + test) * 0.2).abs() <= 1).all()  # a fifth of every file held out
    texts = data.texts(data.test_items)
    assert max(map(len, texts)) <= fortunes.MAX_CHARACTERS and not any("\b" in text for text in texts)


def test_data_check_reports_a_text_folder(tmp_path, capsys):
    _class_folders(tmp_path / "texts")
    (tmp_path / "texts" / "news" / "latin1.txt").write_bytes(b"caf\xe9")
    (tmp_path / "texts" / "news" / "empty.txt").write_bytes(b"")
    report = check_data(str(tmp_path / "texts"))
    assert report["usable"] and report["kind"] == "text" and report["texts"] == 20
    assert report["classes"] == [{"name": "news", "train": 8, "test": 2}, {"name": "poems", "train": 8, "test": 2}]
    assert report["lengths"] == {"of": "texts", "shortest": 21, "median": 22, "longest": 22}
    assert report["encoding"] == [{"file": "news/latin1.txt", "reason": report["encoding"][0]["reason"]}]
    assert report["empty"] == 1 and len(report["skipped"]) == 2
    assert main(["data", "check", str(tmp_path / "texts")]) == 0
    out = capsys.readouterr().out
    assert out.strip() == check_markdown(report).strip()
    for expected in ("20 readable texts, labelled", "| news | 8 | 2 |", "Lengths of the texts: 21 to 22",
                     "Encoding: 1 file(s) not UTF-8", "`news/latin1.txt`: not UTF-8: line 1, byte 4",
                     "`news/empty.txt`: empty file (0 bytes)"):
        assert expected in out
    workbench.data._load.cache_clear()
