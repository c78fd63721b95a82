"""Context snapping: a listed entry takes the place of a near spelling in the transcript when the audio allows it.

Why: a model told "Words that may occur: Zentrix, Olvarine." often writes the name as it heard it ("centrix",
"olvane oil"): the audio brought it close, and the list did not pull it the rest of the way (docs/context.md). A
spelling rule alone also snaps words that were said right ("called" → "caller ID"), so two checks guard it:
- the span must hold a word the decoder had to spell, not one it writes as a single token as it does common words
  ("called", "Saturday"; `decoder_knows`);
- the projector's CTC head, which reads the audio alone, must score the transcript with the entry in the span's
  place at most `MAX_LOG_LIKELIHOOD_LOSS` nats below the transcript as written.
The constants were chosen on the context-biasing benchmark's dev sentences, never on its measured ones
(docs/context.md).

Rules, in order: an entry of at least `MIN_LETTERS` letters that the transcript does not hold yet; a span of the
entry's word count, give or take one word, whose letters are at least `MIN_SIMILARITY` alike (1 - edit distance /
longer length); never a span that holds the entry or sits inside it (a plural keeps its ending), nor one that
touches a listed entry already written (a name spelled from the list stays); then the two checks. Each entry snaps
at most once, the closest spelling first, spans never overlapping.

Hub remote code: imports only torch and sibling modules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import torch
from torch import nn

from .ctc_head import ctc_logits

MIN_LETTERS = 5
MIN_SIMILARITY = 0.5
MAX_LOG_LIKELIHOOD_LOSS = 6.0
LEADING_MARKS, TRAILING_MARKS = "\"'(¿¡", ".,!?;:\"')"


def letters(text: str) -> str:
    """Lower-case letters and digits only: how two spellings are compared."""
    return "".join(character for character in text.casefold() if character.isalnum())


def letter_similarity(first: str, second: str) -> float:
    """1 - Levenshtein distance / the longer length, over `letters` (1.0: the same letters)."""
    first, second = letters(first), letters(second)
    if not first or not second:
        return float(first == second)
    row = list(range(len(second) + 1))
    for i, a in enumerate(first, 1):
        diagonal, row[0] = row[0], i
        for j, b in enumerate(second, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (a != b))
    return 1 - row[-1] / max(len(first), len(second))


def snap_to_context(
    text: str,
    entries: Sequence[str],
    log_likelihood: Callable[[str], float],
    is_word: Callable[[str], bool] = lambda word: False,
    min_similarity: float = MIN_SIMILARITY,
    max_loss: float = MAX_LOG_LIKELIHOOD_LOSS,
) -> str:
    """`text` with near spellings of `entries` replaced where `log_likelihood` (the audio's score of a whole
    transcript) loses at most `max_loss` by the change; a span of words that `is_word` all knows stays. No entries,
    or none near, give `text` unchanged."""
    words = text.split()
    written = letters(text)
    locked = _words_of_written_entries(words, [entry for entry in entries if letters(entry) in written])
    baseline = None
    candidates = []  # (similarity, score change, start, size, entry)
    for entry in entries:
        target = letters(entry)
        if len(target) < MIN_LETTERS or target in written:
            continue
        count = len(entry.split())
        for size in range(max(1, count - 1), count + 2):
            for start in range(len(words) - size + 1):
                span = letters(" ".join(words[start : start + size]))
                if not span or target in span or span in target or locked.intersection(range(start, start + size)):
                    continue
                if all(is_word(word) for word in words[start : start + size]):
                    continue
                if (similarity := letter_similarity(span, target)) < min_similarity:
                    continue
                baseline = log_likelihood(text) if baseline is None else baseline
                change = log_likelihood(" ".join(_replaced(words, start, size, entry))) - baseline
                if change >= -max_loss:
                    candidates.append((similarity, change, start, size, entry))
    taken: set[int] = set()
    chosen: dict[str, tuple[int, int]] = {}  # entry → (start, size)
    # The closest spelling first, the audio's score between equals: the score alone favours fewer tokens, and so a
    # span that swallows a neighbouring word ("Miss Socoi-Lindgrett" for Okarvi-Lindgrett).
    for *_, start, size, entry in sorted(candidates, key=lambda candidate: (-candidate[0], -candidate[1])):
        cells = set(range(start, start + size))
        if entry not in chosen and not cells & taken:
            taken |= cells
            chosen[entry] = (start, size)
    for entry, (start, size) in sorted(chosen.items(), key=lambda item: -item[1][0]):  # from the end: indices hold
        words = _replaced(words, start, size, entry)
    return " ".join(words)


def ctc_log_likelihood(log_probs: torch.Tensor, token_ids: Sequence[int]) -> float:
    """log P_ctc(text | audio) of one clip: `log_probs` (T, 1 + V) over its real frames, blank first (ctc_head.py);
    `token_ids` the decoder's tokens of the text. -inf where the text cannot fit the frames."""
    if not token_ids:
        return float(log_probs[:, 0].sum())
    loss = nn.functional.ctc_loss(
        log_probs[:, None],
        torch.tensor([[token + 1 for token in token_ids]], device=log_probs.device),
        torch.tensor([log_probs.shape[0]]),
        torch.tensor([len(token_ids)]),
        blank=0,
        reduction="sum",
    )
    return -float(loss)


def audio_scorers(
    audio_embeds: torch.Tensor, token_mask: torch.Tensor, classes: torch.Tensor, tokenizer
) -> list[Callable]:
    """One `log_likelihood(text)` per clip of a batch's audio embeddings (B, N, D) and mask (B, N), from the CTC head's
    classes (`ASRModel.ctc_head_classes`): a transcript's tokens as the processor writes them, no special tokens."""
    with torch.no_grad():
        # One clip at a time: (frames, 1 + V) log-probabilities are ~200 kB a frame.
        clips = [
            ctc_logits(embeds[mask], classes).log_softmax(-1)
            for embeds, mask in zip(audio_embeds, token_mask, strict=True)
        ]
    return [partial(_text_log_likelihood, log_probs, tokenizer) for log_probs in clips]


def decoder_knows(tokenizer, word: str) -> bool:
    """Whether the decoder writes `word` (as written or in lower case, without punctuation) as one token after a space,
    as it does common words ("called", "Saturday"), not a name it had to spell ("centrix": 2 tokens)."""
    bare = word.strip(LEADING_MARKS + TRAILING_MARKS)
    return any(len(tokenizer.encode(" " + form, add_special_tokens=False)) == 1 for form in (bare, bare.lower()))


def _text_log_likelihood(log_probs: torch.Tensor, tokenizer, text: str) -> float:
    return ctc_log_likelihood(log_probs, tokenizer.encode(text, add_special_tokens=False))


def _replaced(words: list[str], start: int, size: int, entry: str) -> list[str]:
    """`words` with words[start : start + size] replaced by `entry`, keeping the span's outer punctuation."""
    first, last = words[start], words[start + size - 1]
    lead = first[: len(first) - len(first.lstrip(LEADING_MARKS))]
    tail = last[len(last.rstrip(TRAILING_MARKS)) :]
    return [*words[:start], lead + entry + tail, *words[start + size :]]


def _words_of_written_entries(words: list[str], written_entries: list[str]) -> set[int]:
    """Indices of the words that spell a listed entry already written (each entry's word count, at any place)."""
    locked: set[int] = set()
    for entry in written_entries:
        target, count = letters(entry), len(entry.split())
        for start in range(len(words) - count + 1):
            if target in letters(" ".join(words[start : start + count])):
                locked.update(range(start, start + count))
    return locked
