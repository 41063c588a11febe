import math

import torch

from workbench.data.text.corpus import generate_roles
from workbench.data.text.tokens import PAD, VOCAB_SIZE
from workbench.models import create_encoder
from workbench.tasks import create_task
from workbench.tasks.next_token import IGNORE, shifted


def test_undoing_the_shift_recovers_the_text_and_padding_carries_no_loss():
    tokens = generate_roles(4, seed=0)[1]
    inputs, targets = shifted(tokens)
    restored = torch.cat([inputs[:, :1], torch.where(targets == IGNORE, PAD, targets)], dim=1)
    assert torch.equal(restored, tokens)
    assert torch.equal(targets == IGNORE, tokens[:, 1:] == PAD)


def test_a_position_never_sees_the_tokens_after_it():
    task = create_task("next_token", create_encoder("gpt_tiny")).eval()
    tokens = generate_roles(2, seed=0)[1]
    changed = tokens.clone()
    changed[:, 12:] = torch.randint(3, 100, changed[:, 12:].shape)
    before, after = task.logits(task.encoder.hidden(tokens)), task.logits(task.encoder.hidden(changed))
    assert torch.equal(before[:, :12], after[:, :12])  # exactly: nothing of the future leaks in
    assert not torch.allclose(before[:, 12:], after[:, 12:])


def test_an_untrained_model_scores_about_ln_v_and_greedy_sampling_repeats_itself():
    task = create_task("next_token", create_encoder("gpt_tiny")).eval()
    tokens = generate_roles(16, seed=0)[1]
    loss = task.loss(task.make_inputs(tokens, None), None).loss.item()
    assert abs(loss - math.log(VOCAB_SIZE)) < 0.2  # the small first weights: every token about as likely
    prompt = tokens[0, :5]
    greedy = [task.generate(prompt, 8, torch.Generator().manual_seed(s), temperature=0.0) for s in range(2)]
    assert torch.equal(greedy[0], greedy[1]) and torch.equal(greedy[0][:5], prompt) and len(greedy[0]) == 13
    warm = [task.generate(prompt, 8, torch.Generator().manual_seed(s), temperature=1.5) for s in range(2)]
    assert not torch.equal(warm[0], warm[1])


def test_real_text_takes_the_real_data_preset_whose_batch_counts_tokens(tmp_path):
    from workbench.engine.job import TrainingRun
    from workbench.engine.settings import TrainConfig
    from workbench.tasks.next_token import NextToken

    roles = TrainingRun(TrainConfig(task="next_token", device="cpu"), tmp_path / "roles")
    assert roles.config.batch_size * roles.dataset.length <= 2560 and not roles.notes
    assert roles.config.learning_rate == NextToken.preset.learning_rate  # generated: the preset shaped on it
    notes = tmp_path / "notes.txt"
    notes.write_text("A lecture on self-supervised learning, read as characters.\n" * 200, encoding="utf-8")
    plain = TrainingRun(TrainConfig(data=str(notes), task="next_token", device="cpu"), tmp_path / "plain")
    real = NextToken.real_data_preset
    assert (plain.config.epochs, plain.config.learning_rate) == (real.epochs, real.learning_rate)
    assert plain.config.batch_size == round(real.tokens_per_step / plain.dataset.length) != NextToken.preset.batch_size
    assert len(plain.notes) == 1 and plain.notes[0].startswith("next_token's preset for real data, not generated")
    half = TrainingRun(TrainConfig(data=str(notes), task="next_token", device="cpu", learning_rate=1e-3),
                       tmp_path / "half")
    assert half.config.learning_rate == 1e-3 and half.config.epochs == real.epochs  # what the user sets is theirs
    chosen = TrainingRun(TrainConfig(data=str(notes), task="next_token", device="cpu", batch_size=32), tmp_path / "c")
    assert chosen.config.batch_size == 32 and chosen.notes == plain.notes  # a batch the user sets is theirs


def test_writing_feeds_the_model_no_more_tokens_than_it_trained_on():
    task = create_task("next_token", create_encoder("gpt_tiny")).eval()
    read, hidden = [], task.encoder.hidden
    task.encoder.hidden = lambda tokens: read.append(tokens.shape[1]) or hidden(tokens)
    written = task.generate(generate_roles(1, seed=0)[1][0, :3], 10, torch.Generator().manual_seed(0), context=5)
    assert len(written) == 13 and read == [3, 4, 5, 5, 5, 5, 5, 5, 5, 5]
