"""Roles — the built-in text set, the text twin of Shapes: generated stories whose label is who did what to whom.

Every story has the same three animals, each acting once on the next, round a circle:

    the big dog quickly chased the small cat . then the small cat bit the old fox .
    then the old fox was gently pushed by the big dog .

The label is the first event's (actor, target): one of the six orders of two of the animals ("dog → cat"). Each
event is told in the active or the passive voice at random ("the small cat was chased by the big dog"), and
adjectives, adverbs and verbs are drawn at random. So every story holds every animal twice, once acting and once
acted on: a bag of words — of single words or of pairs — cannot tell the classes apart; only word order can. The
later events follow from the first (its target acts next), so a language model that predicts their words must
work out who did what to whom: the pretext task needs the label's information.
"""

import numpy as np
import torch

from .tokens import add_words, encode_words, pad

ANIMALS = ("dog", "cat", "fox")
ADJECTIVES = ("big", "small", "old", "young", "brown", "grey", "clever", "lazy", "noisy", "quiet")
ADVERBS = ("quickly", "slowly", "suddenly", "gently", "angrily", "happily")
# (past tense, past participle) of the verbs an animal does to another
VERBS = (("chased", "chased"), ("bit", "bitten"), ("pushed", "pushed"), ("followed", "followed"),
         ("scared", "scared"), ("found", "found"), ("woke", "woken"), ("saw", "seen"))
GLUE = ("the", "was", "by", "then", ".")
CLASS_NAMES = [f"{actor} → {target}" for actor in ANIMALS for target in ANIMALS if actor != target]
LENGTH = 40  # tokens: the longest story has 35

add_words([*GLUE, *ANIMALS, *ADJECTIVES, *ADVERBS, *(word for pair in VERBS for word in pair)])


def event(rng: np.random.Generator, actor: str, target: str) -> str:
    """"the big dog quickly chased the small cat" or "the small cat was chased by the big dog". Every mention
    draws its own adjective: were an animal's kept through the story, "then the small ___" would be answered
    by copying the noun after "small" the first time, with no thought of who did what."""
    past, participle = VERBS[rng.integers(len(VERBS))]
    adverb = ADVERBS[rng.integers(len(ADVERBS))] + " " if rng.random() < 0.5 else ""
    big, small = rng.choice(ADJECTIVES, size=2)
    if rng.random() < 0.5:
        return f"the {big} {actor} {adverb}{past} the {small} {target}"
    return f"the {small} {target} was {adverb}{participle} by the {big} {actor}"


def story(rng: np.random.Generator) -> tuple[str, int]:
    """One story and its class (the index of its first event's "actor → target" in CLASS_NAMES)."""
    first, second, third = (ANIMALS[i] for i in rng.permutation(3))
    events = [event(rng, actor, target)
              for actor, target in ((first, second), (second, third), (third, first))]
    return " . then ".join(events) + " .", CLASS_NAMES.index(f"{first} → {second}")


def generate_roles(count: int, seed: int) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    """`count` stories drawn from `seed` (the same seed, the same stories): their texts, (count, LENGTH) word
    tokens and (count,) labels."""
    rng = np.random.default_rng(seed)
    texts, labels = zip(*(story(rng) for _ in range(count)))
    return list(texts), pad([encode_words(text) for text in texts], LENGTH), torch.tensor(labels)
