"""Greedy search that verifies the projector's CTC transcript instead of writing it token by token.

The CTC head spells a transcript over the decoder's own vocabulary in one pass (`ctc_head.ctc_greedy_decode`). That
spelling is a draft: the decoder reads the whole draft in one forward pass, keeps the longest prefix whose every token
is its own greedy choice, writes its own token at the first disagreement, and goes on from the rest of the draft
(self-speculative decoding, as Granite Speech does with its CTC head). Every kept token is the decoder's argmax given
the tokens before it, so the output is greedy search's output; when the draft is right, a sentence costs two decoder
passes (the prompt, then the draft) instead of one a token.

Rows of a batch accept drafts of different lengths. Nothing is cut from the KV cache: the positions a row rejected stay
in it with attention mask 0, and each row's position ids count only what it kept, so the cache needs no crop (its API
changed across transformers 5.x) and every row moves at its own pace.

Hub remote code: imports only torch, transformers and sibling modules.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from transformers import LogitsProcessorList, NoRepeatNGramLogitsProcessor, RepetitionPenaltyLogitsProcessor

from .decoding_options import DecodingOptions

# How far around the expected place in the draft the decoder's own token is looked for: a token the draft left out
# or wrote twice moves the draft's place by one; further than this is a new start at the next token.
REALIGN_WINDOW = 3


def greedy_with_ctc_draft(
    decoder,
    inputs_embeds: torch.Tensor,
    attention_mask: torch.Tensor | None,
    drafts: list[list[int]],
    options: DecodingOptions,
    eos_token_ids: list[int],
    pad_token_id: int,
    cache_argument: str,
    streamer: Any = None,
) -> torch.Tensor:
    """The new tokens (B, L') of greedy search from `inputs_embeds` (B, P, D), each row padded with `pad_token_id`
    after its end token, as transformers' `generate` returns them; `drafts` holds each row's CTC transcript."""
    batch, device = inputs_embeds.shape[0], inputs_embeds.device
    if attention_mask is None:
        attention_mask = torch.ones(inputs_embeds.shape[:2], dtype=torch.long, device=device)
    processors = _logits_processors(options)
    drafts = [list(draft) + eos_token_ids[:1] for draft in drafts]  # training taught the decoder to end with eos
    kept: list[list[int]] = [[] for _ in range(batch)]
    draft_place = [0] * batch  # where in each draft the next token is expected
    done = [False] * batch
    positions = attention_mask.long().sum(-1)  # (B,) next position id of each row: its real tokens so far
    if streamer is not None:
        streamer.put(torch.empty(batch, 0, dtype=torch.long))  # the prompt, as generate() puts it first

    output = decoder(
        inputs_embeds=inputs_embeds,
        attention_mask=attention_mask,
        position_ids=(attention_mask.long().cumsum(-1) - 1).clamp(min=0),
        use_cache=True,
        logits_to_keep=1,
    )
    cache = returned_cache(output)
    for row in range(batch):
        kept[row].append(_choose(processors, kept[row], output.logits[row, -1]))
        done[row] = _finished(kept[row], eos_token_ids, options.max_new_tokens)
        draft_place[row] = _realign(drafts[row], draft_place[row], kept[row][-1])
    if streamer is not None:
        streamer.put(torch.tensor(kept[0]))

    while not all(done):
        # Each row feeds its newest token (not yet in the cache) and then its draft's rest, as far as it may write.
        blocks = []
        for row in range(batch):
            room = options.max_new_tokens - len(kept[row])
            blocks.append([] if done[row] else [kept[row][-1], *drafts[row][draft_place[row] :][:room]])
        width = max(len(block) for block in blocks)
        tokens = torch.full((batch, width), pad_token_id, dtype=torch.long, device=device)
        block_mask = torch.zeros(batch, width, dtype=attention_mask.dtype, device=device)
        for row, block in enumerate(blocks):
            tokens[row, : len(block)] = torch.tensor(block, dtype=torch.long)
            block_mask[row, : len(block)] = 1
        attention_mask = torch.cat([attention_mask, block_mask], dim=-1)
        output = decoder(
            input_ids=tokens,
            attention_mask=attention_mask,
            position_ids=positions[:, None] + torch.arange(width, device=device),
            use_cache=True,
            **{cache_argument: cache},
        )
        cache = returned_cache(output)
        for row, block in enumerate(blocks):
            if done[row]:
                continue
            accepted = 0  # block positions whose token stays: the newest token, then the draft tokens kept
            for offset in range(len(block)):
                choice = _choose(processors, kept[row], output.logits[row, offset])
                accepted = offset + 1
                agrees = offset + 1 < len(block) and choice == block[offset + 1]
                kept[row].append(choice)
                done[row] = _finished(kept[row], eos_token_ids, options.max_new_tokens)
                if done[row] or not agrees:
                    break
            draft_place[row] = _realign(drafts[row], draft_place[row] + accepted - 1, kept[row][-1])
            if streamer is not None:  # one clip: the run this pass kept
                streamer.put(torch.tensor(kept[row][-accepted:]))
            attention_mask[row, attention_mask.shape[1] - width + accepted :] = 0  # the rejected draft tokens
            positions[row] += accepted

    if streamer is not None:
        streamer.end()
    longest = max(len(row) for row in kept)
    return torch.tensor([row + [pad_token_id] * (longest - len(row)) for row in kept], device=device)


def cache_argument_name(decoder) -> str:
    """The decoder's KV-cache argument: transformers 5.24 renamed `past_key_values` to `cache` (the old name warns)."""
    return "cache" if "cache" in inspect.signature(type(decoder).forward).parameters else "past_key_values"


def returned_cache(output) -> Any:
    """The KV cache a decoder forward returned (transformers 5.24 renamed `past_key_values` to `cache`)."""
    return output["cache"] if "cache" in output else output["past_key_values"]


def _logits_processors(options: DecodingOptions) -> LogitsProcessorList:
    """The options greedy search applies to the scores, as transformers' generate() would."""
    processors = LogitsProcessorList()
    if options.repetition_penalty != 1.0:
        processors.append(RepetitionPenaltyLogitsProcessor(options.repetition_penalty))
    if options.no_repeat_ngram_size > 0:
        processors.append(NoRepeatNGramLogitsProcessor(options.no_repeat_ngram_size))
    return processors


def _choose(processors: LogitsProcessorList, previous: list[int], logits: torch.Tensor) -> int:
    """Greedy search's next token after `previous` (the transcript so far: the processors see it, not the prompt)."""
    scores = logits.float()[None]
    if processors:
        scores = processors(torch.tensor([previous], dtype=torch.long, device=logits.device), scores)
    return int(scores.argmax(-1))


def _finished(kept: list[int], eos_token_ids: list[int], max_new_tokens: int) -> bool:
    return kept[-1] in eos_token_ids or len(kept) >= max_new_tokens


def _realign(draft: list[int], expected: int, token: int) -> int:
    """The draft's place after the decoder wrote `token` where the draft expected `draft[expected]`: just past the
    nearest copy of `token` around there (the draft had it earlier, or later), else one on (a changed token)."""
    for place in sorted(
        range(max(0, expected - 1), min(len(draft), expected + REALIGN_WINDOW)), key=lambda place: abs(place - expected)
    ):
        if draft[place] == token:
            return place + 1
    return expected + 1
