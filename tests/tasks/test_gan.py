import copy
import math

import torch
import torch.nn.functional as F

from workbench.tasks import Progress, build_task
from workbench.engine.checkpoints import load_task
from workbench.engine.job import TrainingRun
from workbench.engine.settings import TrainConfig


def build(seed=0):
    return build_task("gan", "small_cnn", seed)


def discriminator_parameters(task):
    return list(task.encoder.parameters()) + list(task.real_fake.parameters())


def test_the_one_loss_moves_d_only_by_its_term_and_g_only_by_its_term(shapes):
    task = build()
    real, z = task.make_inputs(shapes(8), torch.Generator().manual_seed(0))
    d_params, g_params = discriminator_parameters(task), list(task.generator.parameters())
    out = task.loss((real, z), Progress())
    combined = torch.autograd.grad(out.loss, d_params + g_params)

    # The two terms written out with plain calls and binary cross-entropy; batch norm in training mode
    # depends only on the batch, so the same generator gives the same fakes.
    fake = task.generator(z)
    d_loss = (F.binary_cross_entropy_with_logits(task(real), torch.ones(8))
              + F.binary_cross_entropy_with_logits(task(fake.detach()), torch.zeros(8)))
    assert all(g is None for g in torch.autograd.grad(d_loss, g_params, retain_graph=True, allow_unused=True))
    expected_d = torch.autograd.grad(d_loss, d_params)
    frozen_d = copy.deepcopy(task).requires_grad_(False)
    g_loss = F.binary_cross_entropy_with_logits(frozen_d(fake), torch.ones(8))  # non-saturating: "call it real"
    expected_g = torch.autograd.grad(g_loss, g_params)

    for got, want in zip(combined, expected_d + expected_g):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-6)
    assert math.isclose(out.metrics["d_loss"].item(), d_loss.item(), rel_tol=1e-5)
    assert math.isclose(out.metrics["g_loss"].item(), g_loss.item(), rel_tol=1e-5)


def test_a_discriminator_that_knows_nothing_scores_ln2_per_term(shapes):
    task = build()
    torch.nn.init.zeros_(task.real_fake.weight)
    torch.nn.init.zeros_(task.real_fake.bias)
    out = task.training_step(shapes(6), torch.Generator().manual_seed(0))
    assert math.isclose(out.metrics["d_loss"].item(), 2 * math.log(2), rel_tol=1e-6)
    assert math.isclose(out.metrics["g_loss"].item(), math.log(2), rel_tol=1e-6)
    assert out.metrics["d_real"] == out.metrics["d_fake"] == 0.5


def test_encoder_running_statistics_come_from_real_images_only(shapes):
    task = build()
    reference = copy.deepcopy(task)
    real, z = task.make_inputs(shapes(8), torch.Generator().manual_seed(0))
    task.loss((real, z), Progress())
    reference.encoder(real)  # one training-mode pass over the real batch alone
    for (name, got), want in zip(task.encoder.named_buffers(), reference.encoder.buffers()):
        assert torch.allclose(got.float(), want.float(), atol=1e-6), name


def test_the_fixed_noise_grid_draws_the_same_samples_and_changes_nothing(shapes):
    task = build()
    state = copy.deepcopy(task.state_dict())
    torch.manual_seed(1)
    first = task.fixed_samples()
    torch.manual_seed(2)  # the global generator plays no part
    assert torch.equal(first, task.fixed_samples())
    assert (first[1:] - first[:-1]).abs().amax() > 0  # a grid of different z, not one sample repeated
    task.judge_fakes(first)
    assert task.training  # drawing and judging leave the mode and the running statistics alone
    assert all(torch.equal(value, task.state_dict()[key]) for key, value in state.items())
    a = task.preview(shapes(3), torch.Generator().manual_seed(0))
    b = task.eval().preview(shapes(3), torch.Generator().manual_seed(7), predict=True)
    for i, (row_a, row_b) in enumerate(zip(a, b)):  # the same samples, whatever the seed and mode
        assert torch.equal(row_a.images[1], first[2 * i]) and torch.equal(row_b.images[2], first[2 * i + 1])
        assert row_b.captions[0].endswith("% real") and row_b.captions[1].endswith("% real")


def colour_histogram_distance(a, b, bins=16):
    """Total variation between the per-channel pixel histograms of two batches (0: same, 1: disjoint)."""
    def histogram(x):
        return torch.stack([torch.histc(x[:, c], bins, 0, 1) / x[:, c].numel() for c in range(3)])
    return (histogram(a) - histogram(b)).abs().sum(1).mean().item() / 2


def test_one_epoch_of_real_training_moves_the_samples_toward_the_data(tmp_path):
    run = TrainingRun(TrainConfig(data="shapes", task="gan", epochs=1, device="cpu"), tmp_path)
    status = run.run()
    assert status.state == "finished", status.message
    trained, _ = load_task(tmp_path)
    untrained, _ = load_task(tmp_path, trained=False)
    real = run.dataset.test_items[:256].float() / 255
    before = colour_histogram_distance(untrained.fixed_samples(), real)
    after = colour_histogram_distance(trained.fixed_samples(), real)
    assert before > 0.7 and after < 0.6 * before  # grey mush at first (all pixels near 0.5), then colours
    late = status.steps[-20:]
    assert sum(s["d_accuracy"] for s in late) / len(late) > 0.7  # D learned to tell them apart


def test_the_features_are_dcgans_read_out_every_block_max_pooled_to_a_4x4_grid(shapes):
    task = build().eval()
    x = shapes(3)
    maps = task.encoder.block_maps(x)
    assert [m.shape[1] for m in maps] == [24, 48, 96, 192] and torch.equal(maps[-1], task.encoder.feature_map(x))
    features = task.features(x)
    assert features.shape == (3, 16 * (24 + 48 + 96 + 192))
    first_block = maps[0][0]                                   # (24, 16, 16): its top-left 4×4 cell comes first
    assert torch.allclose(features[0, :24 * 16].view(24, 4, 4)[:, 0, 0], first_block[:, :4, :4].amax(dim=(1, 2)))
