"""The no-learning baselines of text: bag-of-words TF-IDF vectors, of single words and of words and word pairs.

A bag of words ignores order, so on the generated Roles corpus it stays at chance by construction, while on
real text it is a strong baseline for topic labels — a model trained for minutes may lose to it, and that is a
lesson too. The vectoriser is fitted on the training texts only (its vocabulary and IDF weights), as a probe
must be; the vocabulary is capped so that the dense vectors of ten thousand texts fit in memory.
"""

import numpy as np
import torch
import torch.nn.functional as F

MAX_FEATURES = 4096  # the most frequent words (or pairs) kept


def tf_idf(train_texts: list[str], test_texts: list[str], ngrams: int) -> tuple[torch.Tensor, torch.Tensor]:
    """TF-IDF vectors of 1- to `ngrams`-word n-grams, L2-normalised: (train, test)."""
    from sklearn.feature_extraction.text import TfidfVectorizer  # imported here: a second or so, text only

    vectoriser = TfidfVectorizer(ngram_range=(1, ngrams), token_pattern=r"(?u)\b\w+\b|[^\w\s]",
                                 max_features=MAX_FEATURES, dtype=np.float32)
    train = vectoriser.fit_transform(train_texts)
    test = vectoriser.transform(test_texts)
    return (F.normalize(torch.as_tensor(train.toarray(), dtype=torch.float32), dim=1),
            F.normalize(torch.as_tensor(test.toarray(), dtype=torch.float32), dim=1))


def bag_of_words(dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Unigram TF-IDF of a text data set's (training, held-out) texts."""
    return tf_idf(dataset.texts(dataset.train_items), dataset.texts(dataset.test_items), 1)


def bag_of_ngrams(dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """1–2-gram TF-IDF (single words and adjacent pairs) of a text data set's (training, held-out) texts."""
    return tf_idf(dataset.texts(dataset.train_items), dataset.texts(dataset.test_items), 2)
