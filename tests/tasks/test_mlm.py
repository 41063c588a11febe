import torch

from workbench.data.text.corpus import generate_roles
from workbench.data.text.tokens import MASK, PAD, encode_characters, pad, word_ids
from workbench.models import create_encoder
from workbench.tasks import create_task
from workbench.tasks.mlm import IGNORE, mask_tokens


def roles(n: int) -> torch.Tensor:
    return generate_roles(n, seed=0)[1]


def test_fifteen_percent_of_the_words_are_chosen_and_split_80_10_10():
    tokens = roles(2000)
    inputs, targets = mask_tokens(tokens, torch.Generator().manual_seed(0), 0.15, 0.8, 0.1, whole_words=True)
    chosen = targets != IGNORE
    text = tokens != PAD
    assert abs(chosen.sum() / text.sum() - 0.15) < 0.01
    masked = (inputs == MASK) & chosen
    kept = (inputs == tokens) & chosen
    replaced = chosen & ~masked & ~kept
    shares = [float(part.sum() / chosen.sum()) for part in (masked, replaced, kept)]
    assert abs(shares[0] - 0.8) < 0.02 and abs(shares[2] - 0.1) < 0.02
    assert abs(shares[1] - 0.1) < 0.03  # a random token may happen to be the same token: counted as kept
    assert torch.equal(inputs[~chosen], tokens[~chosen])  # nothing else is touched
    assert torch.equal(targets[chosen], tokens[chosen]) and not chosen[~text].any()  # targets are the originals


def test_whole_word_masking_chooses_every_character_of_a_word_together():
    text = ["the quick brown fox jumps over the lazy dog"] * 200
    tokens = pad([encode_characters(t) for t in text], 48)
    _, targets = mask_tokens(tokens, torch.Generator().manual_seed(1), 0.3, 0.8, 0.1, whole_words=True)
    words = word_ids(tokens)
    chosen = targets != IGNORE
    for word in words.unique()[1:]:  # −1: spaces and [PAD]
        in_word = chosen[words == word]
        assert in_word.all() or not in_word.any()
    assert not chosen[words == -1].any()  # spaces are never targets
    _, single = mask_tokens(tokens, torch.Generator().manual_seed(1), 0.3, 0.8, 0.1, whole_words=False)
    split = [(single != IGNORE)[words == word] for word in words.unique()[1:]]
    assert any(part.any() and not part.all() for part in split)  # off: letters of a word are chosen alone


def test_the_loss_is_the_cross_entropy_at_the_chosen_positions_only():
    task = create_task("mlm", create_encoder("bert_tiny")).eval()
    tokens = roles(8)
    masked, targets = task.make_inputs(tokens, torch.Generator().manual_seed(0))
    logits = task.logits(task.encoder.hidden(masked))  # every position's guesses
    chosen = targets != IGNORE
    every_text_position = torch.nn.functional.cross_entropy(logits[tokens != PAD], tokens[tokens != PAD])
    at_chosen = torch.nn.functional.cross_entropy(logits[chosen], targets[chosen])
    loss = task.loss((masked, targets), None).loss
    assert torch.allclose(loss, at_chosen, atol=1e-5) and not torch.allclose(loss, every_text_position)


def test_attention_is_both_ways_and_ignores_padding():
    encoder = create_encoder("bert_tiny").eval()
    tokens = roles(2)
    changed = tokens.clone()
    changed[:, 10] = tokens[:, 11]  # a later token changes what an earlier position reads: BERT looks both ways
    assert not torch.allclose(encoder.hidden(tokens)[:, 3], encoder.hidden(changed)[:, 3])
    longer = torch.cat([tokens, torch.full((2, 8), PAD)], dim=1)  # more [PAD]: the same features
    assert torch.allclose(encoder(tokens), encoder(longer), atol=1e-5)
