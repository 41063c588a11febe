import pytest
import torch
from torch.distributions import Normal, kl_divergence

from workbench.models import create_encoder
from workbench.tasks import Progress, create_task
from workbench.tasks.vae import gaussian_kl, reparameterise


def test_reparameterisation_scales_the_noise_by_sigma_and_shifts_it_by_mu():
    mu, variance, eps = torch.tensor([[1.0, -2.0]]), torch.tensor([[1.0, 9.0]]), torch.tensor([[0.5, 1.0]])
    assert torch.allclose(reparameterise(mu, variance.log(), eps), torch.tensor([[1.5, 1.0]]))  # σ = 1 and 3


def test_kl_matches_torch_distributions_and_is_zero_at_the_prior():
    gen = torch.Generator().manual_seed(0)
    mu, log_var = torch.randn(2, 5, 7, generator=gen, dtype=torch.float64)
    reference = kl_divergence(Normal(mu, (0.5 * log_var).exp()), Normal(0.0, 1.0)).sum(1)
    assert torch.allclose(gaussian_kl(mu, log_var), reference, rtol=1e-12)
    assert torch.equal(gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))


@pytest.mark.parametrize("beta", [0.0, 2.5])
def test_loss_is_summed_squared_error_plus_beta_times_kl_written_out(beta, shapes):
    task = create_task("vae", create_encoder("small_cnn"), beta=beta, latent_dim=8).double().eval()  # BN: alone as in a batch
    images, eps = task.make_inputs(shapes(3).double(), torch.Generator().manual_seed(0))
    out = task.loss((images, eps), Progress())
    mu, log_var = task.encode(images)
    total = 0.0
    for b in range(3):
        sigma = (0.5 * log_var[b]).exp()
        decoded = task.decode((mu[b] + sigma * eps[b])[None])[0]
        squared_error = ((decoded - images[b]) ** 2).sum().item()
        kl = sum(0.5 * (m ** 2 + s ** 2 - 2 * torch.log(s) - 1).item() for m, s in zip(mu[b], sigma))
        total += squared_error + beta * kl
    assert out.loss.item() == pytest.approx(total / 3, rel=1e-9)


def test_features_are_the_posterior_mean_of_the_grey_image_without_sampling_noise(shapes):
    task = create_task("vae", create_encoder("small_cnn"), latent_dim=16).eval()
    x = shapes(4)
    grey = (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:]).expand_as(x)
    assert task.features(x).shape == (4, 16)
    assert torch.allclose(task.features(x), task.encode(grey)[0], atol=1e-5)
    assert torch.equal(task.features(x), task.features(x))  # no noise drawn


def test_prior_samples_come_from_a_fixed_grid_whatever_the_seed_and_leave_batch_norm_alone(shapes):
    task = create_task("vae", create_encoder("small_cnn")).train()
    before = {k: v.clone() for k, v in task.state_dict().items()}
    rows_a = task.preview(shapes(3), torch.Generator().manual_seed(1), predict=False)
    rows_b = task.preview(shapes(3, seed=5), torch.Generator().manual_seed(2), predict=False)
    assert [r.captions for r in rows_a] == [["input", "sample from the prior"]] * 3
    assert all(torch.equal(a.images[-1], b.images[-1]) for a, b in zip(rows_a, rows_b))
    assert not torch.equal(rows_a[0].images[-1], rows_a[1].images[-1])  # a grid of different z, not one
    assert task.training and all(torch.equal(v, task.state_dict()[k]) for k, v in before.items())
    task.eval()
    rows = task.preview(shapes(3), torch.Generator().manual_seed(1), predict=True)
    assert rows[0].captions == ["input", "reconstruction (z = its mean)", "sample from the prior"]
    assert torch.equal(rows[0].images[-1], rows_a[0].images[-1])


