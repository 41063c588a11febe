import pytest
import torch
import torch.nn.functional as F
from lightly.models.utils import patchify as lightly_patchify

from workbench.data.shapes import generate_shapes
from workbench.models.vit import ViT
from workbench.tasks import Progress, build_task
from workbench.tasks.mae import masked_mse, normalise_flat_patches, patchify, random_masking, unpatchify
from workbench.engine.settings import TrainConfig


def shapes(n, seed=0):
    x, y = generate_shapes(n, seed=seed)
    return x.float() / 255, y


def test_the_vit_encodes_all_patches_or_only_the_visible_ones():
    vit = ViT().eval()
    x = shapes(2)[0].contiguous(memory_format=torch.channels_last)  # as the engine hands them over
    assert vit.num_patches == 64 and vit.tokens(x).shape == (2, 64, vit.feature_dim)
    assert vit(x).shape == (2, vit.feature_dim)
    keep = torch.tensor([[0, 5, 63], [1, 2, 3]])
    assert vit.forward_visible(x, keep).shape == (2, 3, vit.feature_dim)
    everything = torch.arange(64).expand(2, 64)
    torch.testing.assert_close(vit.forward_visible(x, everything).mean(1), vit(x))  # features = no mask
    assert len(vit.position.unique(dim=0)) == 64  # every patch position has its own embedding


def test_the_task_trains_the_vit_by_default():
    assert TrainConfig(task="mae").resolved().encoder == "vit_tiny"


@pytest.mark.parametrize("ratio", [0.05, 0.5, 0.75, 0.9])
def test_masking_keeps_exactly_the_visible_share_of_patches_in_each_image(ratio):
    keep, masked = random_masking(16, 64, ratio, torch.Generator().manual_seed(0), "cpu")
    kept = round((1 - ratio) * 64)
    assert keep.shape == (16, kept)
    assert (masked.sum(1) == 64 - kept).all()
    assert not masked.gather(1, keep).any()                      # a kept patch is never hidden
    assert all(len(row.unique()) == kept for row in keep)        # drawn without replacement
    assert len({tuple(row.tolist()) for row in keep}) == 16      # every image gets its own mask


def test_patches_are_cut_like_lightly_and_put_back_exactly():
    x = torch.rand(2, 3, 32, 32)
    patches = patchify(x, 4)
    assert torch.equal(patches, lightly_patchify(x, 4))
    assert torch.equal(patches[:, 9].reshape(2, 4, 4, 3), x[:, :, 4:8, 4:8].permute(0, 2, 3, 1))  # row 1, col 1
    assert torch.equal(unpatchify(patches, 4), x)


def test_normalised_patches_have_zero_mean_and_unit_variance():
    t = normalise_flat_patches(torch.rand(2, 64, 48) * 0.3 + 0.2)
    torch.testing.assert_close(t.mean(-1), torch.zeros(2, 64), atol=1e-5, rtol=0)
    torch.testing.assert_close(t.var(-1), torch.ones(2, 64), atol=1e-3, rtol=0)


def test_the_loss_counts_only_the_masked_patches():
    torch.manual_seed(0)
    prediction, target = torch.randn(3, 64, 48), torch.randn(3, 64, 48)
    _, masked = random_masking(3, 64, 0.75, torch.Generator().manual_seed(1), "cpu")
    loss = masked_mse(prediction, target, masked)
    torch.testing.assert_close(loss, F.mse_loss(prediction[masked], target[masked]))
    visible = (~masked).nonzero()[0]
    changed = target.clone()
    changed[visible[0], visible[1]] += 10  # a visible patch's target changes: the loss does not
    assert torch.equal(masked_mse(prediction, changed, masked), loss)
    hidden = masked.nonzero()[0]
    changed[hidden[0], hidden[1]] += 10
    assert masked_mse(prediction, changed, masked) > loss


def test_the_reconstruction_shows_the_visible_patches_as_they_were():
    task = build_task("mae", "vit_tiny", 0).eval()
    x = shapes(2)[0]
    row = task.preview(x, torch.Generator().manual_seed(3), predict=True)[0]
    crops, keep, masked = task.make_inputs(x, torch.Generator().manual_seed(3))
    visible = ~masked[0]
    shown_input, reconstruction = patchify(row.images[1][None], 4)[0], patchify(row.images[3][None], 4)[0]
    crop = patchify(crops[:1], 4)[0]
    assert torch.equal(reconstruction[visible], crop[visible])
    assert torch.equal(shown_input[visible], crop[visible]) and (shown_input[~visible] == 0.5).all()


def heldout_error(task, images):
    """Masked-patch MSE on images the task never trained on, with fixed crops and masks."""
    task.eval()
    with torch.no_grad():
        error = task.loss(task.make_inputs(images, torch.Generator().manual_seed(9)), Progress()).loss.item()
    task.train()
    return error


def test_a_short_training_run_learns_to_fill_in_unseen_images():
    task = build_task("mae", "vit_tiny", 0)
    train, test = shapes(1000, seed=1)[0], shapes(64, seed=2)[0]
    before = heldout_error(task, test)
    optimizer = torch.optim.AdamW(task.param_groups(0.05), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    for step in range(60):
        for group in optimizer.param_groups:
            group["lr"] = 1e-3 * min(1.0, (step + 1) / 6)  # a short warm-up, as the engine does
        batch = train[torch.randint(len(train), (64,), generator=gen)]
        loss = task.training_step(batch, gen).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = heldout_error(task, test)
    # Predicting 0 (the mean of every normalised patch) scores about 1: below that, the visible patches are used.
    assert after < 0.85 and after < 0.8 * before, (before, after)

