"""Text data: one vocabulary of token ids (`tokens`), the generated Roles corpus (`corpus`), bag-of-words
baselines (`baselines`) and the data set (`dataset`). Importing the package adds the corpus's words to the
vocabulary, so that every id reads back as its word."""

from . import corpus  # noqa: F401  (registers the corpus's words)
