"""Tokens: text ↔ the integer ids a language model reads, in one fixed vocabulary for every text data set.

    ids 0–2      [PAD] (fills a short text up to the data set's length), [MASK] (BERT's blank), [UNK]
    ids 3–258    the 256 byte values: characters, as nanoGPT's character model reads a plain file (UTF-8, so
                 an English letter is one token and an accented one two)
    ids 259–     whole words, for the generated corpus, whose small grammar has a few dozen words

One vocabulary for all means a model's shape never depends on the data it reads, and an id says by itself what
it is: a word, a character, whitespace — so BERT's whole-word masking needs no tokenizer at hand.
"""

import torch

PAD, MASK, UNK = 0, 1, 2
SPECIALS = ("[PAD]", "[MASK]", "[UNK]")
FIRST_BYTE = len(SPECIALS)
FIRST_WORD = FIRST_BYTE + 256
MAX_WORDS = 256
VOCAB_SIZE = FIRST_WORD + MAX_WORDS
WHITESPACE = [FIRST_BYTE + ord(c) for c in " \t\n\r"]

_words: list[str] = []  # the word tokens known so far, in id order (see `add_words`)


def add_words(words) -> None:
    """Give each new word of a grammar an id of its own (a generated corpus adds its words once, at import)."""
    for word in words:
        if word not in _words:
            if len(_words) == MAX_WORDS:
                raise ValueError(f"at most {MAX_WORDS} word tokens")
            _words.append(word)


def encode_characters(text: str) -> list[int]:
    """A text as character (byte) tokens."""
    return [FIRST_BYTE + b for b in text.encode("utf-8")]


def encode_words(text: str) -> list[int]:
    """A text as word tokens, split on spaces; a word no grammar added becomes [UNK]."""
    return [FIRST_WORD + _words.index(word) if word in _words else UNK for word in text.split()]


def token_text(token: int) -> str:
    """How one token reads: "dog", "a", "␣" for a space, "[MASK]"."""
    if token < FIRST_BYTE:
        return SPECIALS[token]
    if token >= FIRST_WORD:
        return _words[token - FIRST_WORD] if token - FIRST_WORD < len(_words) else SPECIALS[UNK]
    character = bytes([token - FIRST_BYTE]).decode("latin-1")
    return {" ": "␣", "\n": "⏎", "\t": "⇥"}.get(character, character)


def decode(tokens) -> str:
    """Token ids back to text: bytes decoded as UTF-8, words joined by spaces; [PAD] dropped."""
    pieces, pending = [], bytearray()
    for token in (int(t) for t in tokens):
        if FIRST_BYTE <= token < FIRST_WORD:
            pending.append(token - FIRST_BYTE)
            continue
        if pending:
            pieces.append(pending.decode("utf-8", errors="replace"))
            pending = bytearray()
        if token != PAD:
            pieces.append(token_text(token) + " " if token >= FIRST_WORD else SPECIALS[token])
    if pending:
        pieces.append(pending.decode("utf-8", errors="replace"))
    return "".join(pieces).rstrip(" ")


def pad(sequences: list[list[int]], length: int) -> torch.Tensor:
    """Token lists → an (N, length) int64 tensor, each cut to `length` or filled up with [PAD]."""
    out = torch.full((len(sequences), length), PAD, dtype=torch.long)
    for row, tokens in enumerate(sequences):
        tokens = tokens[:length]
        out[row, :len(tokens)] = torch.tensor(tokens, dtype=torch.long)
    return out


def word_ids(tokens: torch.Tensor) -> torch.Tensor:
    """(B, T) tokens → (B, T): which word each token belongs to, numbered across the batch; −1 for [PAD] and
    whitespace. A word token is a word; a run of character tokens between whitespace is one (BERT's whole-word
    masking masks all of a word's tokens together)."""
    blank = (tokens == PAD) | torch.isin(tokens, torch.tensor(WHITESPACE, device=tokens.device))
    is_word_token = tokens >= FIRST_WORD
    previous_blank = torch.ones_like(blank)
    previous_blank[:, 1:] = blank[:, :-1]
    starts = ~blank & (previous_blank | is_word_token | torch.roll(tokens >= FIRST_WORD, 1, dims=1))
    starts[:, 0] = ~blank[:, 0]
    ids = starts.flatten().cumsum(0).view_as(tokens) - 1
    return torch.where(blank, torch.full_like(ids, -1), ids)
