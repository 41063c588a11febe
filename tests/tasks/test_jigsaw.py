import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from workbench.models import create_encoder
from workbench.tasks import create_task
from workbench.tasks.jigsaw import permutation_set, shuffle, unshuffle
from workbench.tasks.parts.tiles import assemble, cut_tiles
from workbench.engine.job import TrainingRun
from workbench.engine.settings import TrainConfig

# Every colour change off and no resizing: the tiles are the image's own pixels.
PLAIN = {"resolution": 32, "crop_min_scale": 1.0, "tile_color_jitter": 0.0, "tile_grayscale_probability": 0.0}


def hamming(a, b):
    return sum(i != j for i, j in zip(a, b))


def test_two_by_two_uses_every_permutation_once_starting_from_the_identity():
    orders = permutation_set(4, 100).tolist()
    assert orders[0] == [0, 1, 2, 3]
    assert sorted(map(tuple, orders)) == list(itertools.permutations(range(4)))


def test_three_by_three_set_is_fixed_and_well_separated():
    orders = permutation_set(9, 30)
    assert orders.shape == (30, 9)
    assert all(sorted(o) == list(range(9)) for o in orders.tolist())
    assert orders[0].tolist() == list(range(9))  # the fixed start: the identity
    assert torch.equal(orders, permutation_set.__wrapped__(9, 30))  # computed afresh: the same set
    assert min(hamming(a, b) for a, b in itertools.combinations(orders.tolist(), 2)) >= 7


def test_greedy_choice_leaves_no_permutation_farther_from_the_set_than_its_closest_pair():
    chosen = permutation_set(4, 6).tolist()
    closest = min(hamming(a, b) for a, b in itertools.combinations(chosen, 2))
    for candidate in itertools.permutations(range(4)):
        assert min(hamming(candidate, c) for c in chosen) <= closest


def test_undoing_the_permutation_puts_every_tile_back():
    tiles = torch.arange(2 * 4).view(2, 4)  # tile ids stand in for tiles
    orders = torch.tensor([[2, 0, 3, 1], [3, 2, 1, 0]])
    shuffled = shuffle(tiles, orders)
    assert shuffled.tolist() == [[2, 0, 3, 1], [7, 6, 5, 4]]  # slot i shows tile orders[i]
    assert torch.equal(unshuffle(shuffled, orders), tiles)


def test_undoing_the_labelled_permutation_recovers_the_image(shapes):
    task = create_task("jigsaw", create_encoder("small_cnn"), gap=0, jitter=0, **PLAIN)
    x = shapes(6)
    _, shuffled, labels = task.make_inputs(x, torch.Generator().manual_seed(0))
    assert shuffled.shape == (6, 4, 3, 16, 16)
    restored = unshuffle(shuffled, task.orders[labels])
    for image, tiles in zip(x, restored):
        assert torch.equal(assemble(tiles, grid=2, border=0), image)


def test_preview_puts_tiles_back_by_the_permutation_like_unshuffling(shapes):
    task = create_task("jigsaw", create_encoder("small_cnn"), **PLAIN)
    _, shuffled, labels = task.make_inputs(shapes(3), torch.Generator().manual_seed(1))
    for tiles, k in zip(shuffled, labels):
        order = task.orders[k]
        assert torch.equal(assemble(tiles, 2, slots=order.tolist()),
                           assemble(unshuffle(tiles[None], order[None])[0], 2))


def test_gap_and_jitter_keep_tiles_inside_their_cells_and_apart(shapes):
    x = shapes(64)
    tiles, corners = cut_tiles(x, torch.Generator().manual_seed(0), grid=2, gap=6, jitter=5)
    assert tiles.shape == (64, 4, 3, 10, 10)
    centred = torch.tensor([[3, 3], [3, 19], [19, 3], [19, 19]])
    shift = corners - centred
    assert shift.abs().max() == 3  # jitter is capped at gap / 2, and the cap is reached
    assert (corners[:, 1, 1] - corners[:, 0, 1]).min() >= 10  # a tile never reaches its neighbour
    b, t = 5, 2
    r, c = corners[b, t].tolist()
    assert torch.equal(tiles[b, t], x[b, :, r:r + 10, c:c + 10])


def test_a_classifier_that_knows_nothing_scores_ln_p(shapes):
    task = create_task("jigsaw", create_encoder("small_cnn"))
    last = task.classifier[-1]
    torch.nn.init.zeros_(last.weight), torch.nn.init.zeros_(last.bias)
    out = task.training_step(shapes(8), torch.Generator().manual_seed(0))
    assert math.isclose(out.loss.item(), math.log(24), rel_tol=1e-6)


def test_a_short_run_on_shapes_teaches_the_encoder_something(tmp_path):
    run = TrainingRun(TrainConfig(data="shapes", task="jigsaw", epochs=4, device="cpu"), tmp_path)
    status = run.run()
    assert status.state == "finished", status.message
    knn = [e["knn_top1"] for e in status.evals]
    assert knn[-1] > knn[0] + 0.05, knn  # whole-image features, never trained on, sort shapes better
    last = status.steps[-20:]
    assert sum(s["permutation_accuracy"] for s in last) / len(last) > 3 / 24  # well above chance, 1/24


@pytest.mark.parametrize("name, params, size", [
    ("jigsaw", {}, 48), ("jigsaw", {"read_at_tile_scale": False}, 32),
    ("relative_position", {}, 32), ("relative_position", {"read_at_tile_scale": True, "resolution": 64}, 64)])
def test_the_probes_read_the_whole_image_at_the_tiles_resolution_when_asked(shapes, name, params, size):
    task = create_task(name, create_encoder("small_cnn"), **params).eval()
    images = shapes(4)
    seen = []
    task.encoder.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape[-2:])))
    with torch.no_grad():
        features = task.features(images)
        whole = task.encoder(F.interpolate(images, size=size, mode="bilinear", align_corners=False))
    assert seen[0] == (size, size)
    assert torch.allclose(features, whole)  # the whole image, resized, not a crop or a tile of it
