"""Word and segment timestamps: the decoded transcript force-aligned to the audio tokens by the projector's CTC head.

The CTC head (`ctc_head.py`) scores every audio token against the decoder's own token embeddings, plus a blank. So
the tokens the decoder wrote can be placed on the audio with no second model: a Viterbi pass finds the likeliest CTC
path that spells exactly those tokens (what torchaudio's `forced_align` computes, here in torch alone), each token is
placed on the audio tokens its path spends on it. A word starts with its first token's first audio token and lasts
until the next word starts, or, before a pause, until its last spike or its punctuation's spike (`JOIN_GAP`).
Words are groups of tokens: a token that opens with a space ('Ġ' in byte-level BPE such as SmolLM2's, '▁' in
SentencePiece) or follows a token of spaces starts a word; punctuation joins the word before it. Segments are runs
of words cut after a sentence's end, at a pause, or before they outgrow a two-line subtitle.

Resolution is one audio token: `projector_stack` encoder frames (Whisper: 20 ms a frame; stack 6: 120 ms). The head
must have been trained (the CTC loss, `training.ctc_weight` > 0): an untrained one places words anywhere, so
`check_timestamps_supported` refuses models that do not say they trained it.

Hub remote code: imports only torch and sibling modules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch

from .constants import SAMPLING_RATE
from .ctc_head import ctc_logits

logger = logging.getLogger(__name__)

# CTC marks a token with a spike on one audio token or two, mostly where the token starts, so a word's last spike
# ends well before the word does. A word therefore lasts until the next word starts, unless more than JOIN_GAP audio
# tokens lie between them (a pause: it ends with its last spike). A word written with punctuation ("lake.") ends
# where the punctuation's spike starts: the model writes a full stop or comma on the pause after the word.
# JOIN_GAP = 2 (240 ms at stack 6) and the punctuation rule were chosen on tuning clips (Harvard sentences, lists
# 1-2, four espeak-ng voices) that the benchmark (benchmarks/word_timestamps.py, lists 3-5, five other voices) never
# uses: mean absolute end error there 97 ms (last spike) → 66 (JOIN_GAP) → 49 (and punctuation).
JOIN_GAP = 2
# What tokenizers write for spaces and newlines: byte-level BPE (Ġ, Ċ), SentencePiece (▁), or the characters.
SPACE_CHARACTERS = "ĠĊ▁ \n\t"
SENTENCE_ENDS = (".", "?", "!", "…")
# A segment ends at a silence this long between two words (a breath between phrases is ~0.3 s)...
SEGMENT_PAUSE_SECONDS = 0.6
# ...and before it would hold more characters than two subtitle lines of 42 (the common subtitling limit per line).
SEGMENT_MAX_CHARACTERS = 84


def ctc_head_is_trained(config) -> bool:
    """Whether the model's projector trained its CTC head. `config.ctc_head_trained`, written by training, says so;
    a config without it counts as trained when its own decoding uses the head (`ctc_decoding_weight` > 0), as only
    models trained with the CTC loss should (the embedded default model does)."""
    recorded = getattr(config, "ctc_head_trained", None)
    if recorded is not None:
        return bool(recorded)
    weight = float((getattr(config, "generation", None) or {}).get("ctc_decoding_weight", 0.0))
    if weight > 0:
        logger.info("config.ctc_head_trained is unset; the CTC head counts as trained: the model decodes with it.")
    return weight > 0


def check_timestamps_supported(config) -> None:
    if not ctc_head_is_trained(config):
        raise ValueError(
            "return_timestamps needs a projector trained with the CTC loss (training.ctc_weight > 0): timestamps "
            "come from aligning the transcript with its CTC head, and this model's config says neither that it "
            "trained one (ctc_head_trained) nor that it decodes with one (generation.ctc_decoding_weight > 0). "
            "Call without return_timestamps, or retrain with training.ctc_weight > 0."
        )


def audio_token_times(layout: dict[str, Any], input_hop: int) -> tuple[float, float]:
    """(seconds per audio token, start of audio token 0 in seconds) for an encoder `layout`
    (`configuration_asr.audio_layout`) whose input steps are `input_hop` samples (Whisper: 160-sample mel frames;
    HuBERT/wav2vec2: 1). Audio token n then covers [start + n x step, start + (n + 1) x step)."""
    stride, center = input_hop, (input_hop - 1) / 2  # where input step 0 is centred, in samples
    for kernel, step, padding in zip(layout["kernels"], layout["strides"], layout["paddings"], strict=True):
        center += stride * ((kernel - 1) / 2 - padding)  # output frame 0 is centred on its receptive field
        stride *= step
    if input_hop > 1:  # Whisper's STFT is centred (center=True): mel frame j is centred on sample j x hop
        center -= (input_hop - 1) / 2
    return layout["stack"] * stride / SAMPLING_RATE, (center - stride / 2) / SAMPLING_RATE


def token_log_probs(audio_embeds: torch.Tensor, classes: torch.Tensor, token_ids: list[int]) -> torch.Tensor:
    """(N, D) audio embeddings of one clip → (N, 1 + L) CTC log-probabilities of the blank (column 0) and of each of
    the L tokens in order (normalised over every class)."""
    logits = ctc_logits(audio_embeds, classes)  # (N, C)
    columns = torch.tensor([0] + [token + 1 for token in token_ids], device=logits.device)
    return logits[:, columns] - logits.logsumexp(-1, keepdim=True)


def forced_align(log_probs: torch.Tensor, token_ids: list[int]) -> list[tuple[int, int]]:
    """First and last audio token of each of the L tokens on the likeliest CTC path that spells them in order.

    `log_probs` (N, 1 + L): the blank, then each token (`token_log_probs`). CTC needs a blank between two equal
    tokens, so N >= L + repeats; a transcript too long for its audio is aligned without that rule, tokens sharing
    audio tokens where they must (`_monotonic_align`; logged)."""
    frames, tokens = log_probs.shape[0], len(token_ids)
    if tokens == 0:
        return []
    device = log_probs.device
    # States: blank, token 1, blank, token 2, ..., token L, blank; each state's column in log_probs (S,).
    columns = torch.zeros(2 * tokens + 1, dtype=torch.long, device=device)
    columns[1::2] = torch.arange(1, tokens + 1, device=device)
    emissions = log_probs[:, columns].float()  # (N, S)
    # A token may follow the token before it with no blank between, unless the two are the same token.
    may_skip = torch.zeros(columns.shape[0], dtype=torch.bool, device=device)
    may_skip[3::2] = torch.tensor([a != b for a, b in zip(token_ids[1:], token_ids[:-1], strict=True)], device=device)
    minus_inf = torch.full((2,), float("-inf"), device=device)
    score = torch.full_like(emissions[0], float("-inf"))
    score[:2] = emissions[0, :2]
    moves = torch.zeros(frames, columns.shape[0], dtype=torch.long, device=device)  # states moved forward: 0, 1, 2
    for frame in range(1, frames):
        step = torch.cat([minus_inf[:1], score[:-1]])
        skip = torch.cat([minus_inf, score[:-2]]).masked_fill(~may_skip, float("-inf"))
        score, moves[frame] = torch.stack([score, step, skip]).max(0)
        score = score + emissions[frame]
    state = columns.shape[0] - 1 if score[-1] >= score[-2] else columns.shape[0] - 2
    if not torch.isfinite(score[state]):
        logger.info(
            "%d tokens do not fit CTC's rules in %d audio tokens; aligned allowing tokens to share audio tokens.",
            tokens,
            frames,
        )
        return _monotonic_align(log_probs[:, 1:])
    moves = moves.tolist()
    path = [0] * frames  # the state at each audio token, traced back from the end
    for frame in range(frames - 1, -1, -1):
        path[frame] = state
        state -= moves[frame][state]
    first, last = [frames] * tokens, [-1] * tokens
    for frame, state in enumerate(path):
        if state % 2:  # a token state: token state // 2
            first[state // 2], last[state // 2] = min(first[state // 2], frame), frame
    return list(zip(first, last, strict=True))


def _monotonic_align(token_scores: torch.Tensor) -> list[tuple[int, int]]:
    """One audio token per token, in order (tokens may share one), maximising the summed log-probability."""
    frames, tokens = token_scores.shape
    best = token_scores[:, 0].clone()  # (N,): best score of tokens 0..l with token l on each frame
    back = []
    for token in range(1, tokens):
        running, where = torch.cummax(best, dim=0)  # best placement of the tokens before, on or before each frame
        back.append(where)
        best = running + token_scores[:, token]
    frame = int(best.argmax())
    placed = [frame]
    for where in reversed(back):
        frame = int(where[frame])
        placed.append(frame)
    return [(frame, frame) for frame in reversed(placed)]


def word_starts(token_texts: list[str]) -> list[int]:
    """Indices of the tokens that begin a word. A word begins at a token with more than spaces in it that opens
    with a space ("Ġword", "▁word") or follows a token of spaces alone (character-level tokenizers); the spaces just
    before a word belong to it, and the first word starts at token 0."""
    starts: list[int] = []
    for index, text in enumerate(token_texts):
        if _spaces_only(text):
            continue
        if not starts or text[0] in SPACE_CHARACTERS or _spaces_only(token_texts[index - 1]):
            begin = index
            while begin > (starts[-1] + 1 if starts else 0) and _spaces_only(token_texts[begin - 1]):
                begin -= 1
            starts.append(begin)
    return [0, *starts[1:]] if starts else []


def _spaces_only(text: str) -> bool:
    return not text.strip(SPACE_CHARACTERS)


def align_words(
    audio_embeds: torch.Tensor,
    classes: torch.Tensor,
    token_ids: list[int],
    token_texts: list[str],
    decode: Callable[[list[int]], str],
    token_seconds: tuple[float, float],
    duration: float,
    offset: float = 0.0,
) -> list[dict[str, Any]]:
    """Word chunks `{"text", "timestamp": (start, end)}` of one decoded piece of audio.

    `audio_embeds` (N, D): the piece's real audio embeddings; `token_ids`: the transcript without special tokens,
    `token_texts` their tokenizer strings, `decode` the tokenizer's decode; `token_seconds` from `audio_token_times`;
    times are clipped to [0, `duration`] and shifted by `offset` (the piece's start in its recording). A word's text
    is what `decode` gives it in context (with its leading space, as Whisper's word chunks have), so the words
    joined give the decoded transcript, stripped."""
    spans = forced_align(token_log_probs(audio_embeds, classes, token_ids), token_ids)
    starts = word_starts(token_texts)
    bounds = [*starts, len(token_ids)]
    prefixes = [decode(token_ids[:bound]) for bound in bounds]  # decoded in context: prefix by prefix
    step, first = token_seconds
    words = []
    for index, (begin, end) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        text = prefixes[index + 1][len(prefixes[index]) :]
        text = text.lstrip() if index == 0 else text
        text = text.rstrip() if index == len(starts) - 1 else text
        punctuation = end
        while punctuation - 1 > begin and not any(character.isalnum() for character in token_texts[punctuation - 1]):
            punctuation -= 1
        if punctuation < end:  # "lake." ends where its full stop's spike starts: the pause after the word
            end_token = spans[punctuation][0]
        elif end < len(spans) and spans[end][0] - spans[end - 1][1] - 1 <= JOIN_GAP:
            end_token = spans[end][0]  # no pause: the word lasts until the next one starts
        else:
            end_token = spans[end - 1][1] + 1
        spoken = next(position for position in range(begin, end) if not _spaces_only(token_texts[position]))
        start_time = first + spans[spoken][0] * step
        end_time = first + end_token * step
        start_time, end_time = (min(max(time, 0.0), duration) + offset for time in (start_time, end_time))
        words.append({"text": text, "timestamp": (round(start_time, 2), round(end_time, 2))})
    return words


def segments(words: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Segment chunks from word chunks: a segment ends after a word that ends a sentence, before a pause of
    SEGMENT_PAUSE_SECONDS or more, or before it would grow past SEGMENT_MAX_CHARACTERS."""
    grouped: list[list[dict[str, Any]]] = []
    for word in words:
        if grouped:
            last = grouped[-1][-1]
            text = "".join(w["text"] for w in grouped[-1]) + word["text"]
            if not (
                last["text"].rstrip().endswith(SENTENCE_ENDS)
                or word["timestamp"][0] - last["timestamp"][1] >= SEGMENT_PAUSE_SECONDS
                or len(text.strip()) > SEGMENT_MAX_CHARACTERS
            ):
                grouped[-1].append(word)
                continue
        grouped.append([word])
    return [
        {"text": "".join(w["text"] for w in group), "timestamp": (group[0]["timestamp"][0], group[-1]["timestamp"][1])}
        for group in grouped
    ]
