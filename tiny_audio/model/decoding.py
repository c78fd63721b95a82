"""Decoding: the options of `ASRModel.generate`, validated in one place, and the search that uses them.

`DecodingOptions` (decoding_options.py) is the one definition of tiny-audio's decoding options: the model's config
(`generation`), the pipeline's `generate_kwargs`, `tiny-audio transcribe`'s flags and the model card all go through
it. The search is transformers' `generate` on the decoder, with the audio embeddings in the prompt, plus our own:
- greedy search checks the CTC head's transcript as a draft, several tokens a decoder pass (`ctc_draft`, ctc_draft.py);
- CTC prefix scoring (`ctc_decoding_weight`): the projector's CTC head weighs each step's candidate tokens
  (`ctc_head.CTCPrefixScorer`), which keeps the decoder's language model from preferring fluent text the audio lacks;
- test-time frequency warps (`frequency_warps`): each clip is encoded at several vocal-tract warps of its log-mel
  features and decoded from the one whose audio the CTC head reads most confidently;
- beam search computes each prompt's KV cache once per clip and copies it to the beams (transformers runs the prompt,
  mostly audio, once per beam, and that prefill was most of the decoding time on a CPU).
A transformers `streamer` (TextStreamer, TextIteratorStreamer) gets the tokens as they are chosen. transformers
streams one hypothesis of one prompt, never a beam search: with a streamer the search is greedy (the model's default
beam width gives way, logged; an explicit num_beams > 1 is an error) and the batch holds one clip.

Hub remote code: imports only torch, transformers and sibling modules.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from functools import lru_cache
from typing import Any

import torch
from transformers import WhisperFeatureExtractor
from transformers.utils import logging

from .ctc_draft import cache_argument_name, greedy_with_ctc_draft, returned_cache
from .ctc_head import CTCPrefixScorer, ctc_greedy_decode, ctc_logits
from .decoding_options import DecodingOptions
from .frequency_warp import mel_band_centers, warp_frequency

# Next tokens per hypothesis that CTC prefix scoring weighs each step (the decoder's best); the rest are dropped.
CTC_PREFIX_CANDIDATES = 10
# generate() options that the CTC-draft search honours itself; any other sends greedy search to transformers' generate.
DRAFT_PASSTHROUGH = {"streamer", "pad_token_id", "eos_token_id"}
logger = logging.get_logger(__name__)


def decode(
    model,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None,
    audio: torch.Tensor | None,
    audio_attention_mask: torch.Tensor | None,
    call_options: dict[str, Any],
) -> torch.Tensor:
    """`ASRModel.generate`: the new tokens (B, L') of each prompt, decoded with the model's options overridden by
    `call_options`. Audio enters once, in the prompt's embeddings; later steps reuse the decoder's KV cache."""
    options, passthrough = DecodingOptions.resolve(model.config.generation, call_options)
    if passthrough.get("streamer") is not None:
        options = _streaming_options(options, call_options, batch_size=input_ids.shape[0])
    audio_features = None
    if audio is not None and options.warps:
        audio_features = _surest_warp(model, audio, audio_attention_mask, options.warps)
    elif audio is not None:
        audio_features = model.get_audio_features(audio, audio_attention_mask)
    inputs_embeds = model.embed_inputs(input_ids, audio_features=audio_features)

    decoder_config = model.decoder.generation_config
    kwargs = {**options.to_dict(), **passthrough}
    del kwargs["ctc_decoding_weight"], kwargs["frequency_warps"], kwargs["ctc_draft"]
    if kwargs.get("pad_token_id") is None and decoder_config.pad_token_id is None:
        kwargs["pad_token_id"] = decoder_config.eos_token_id
    ends = kwargs.get("eos_token_id", decoder_config.eos_token_id)
    end_token_ids = [] if ends is None else [ends] if isinstance(ends, int) else list(ends)
    cache_argument = cache_argument_name(model.decoder)
    if _drafts_apply(model, options, passthrough, audio_features):
        drafts = ctc_greedy_decode(*audio_features, model.ctc_head_classes())
        return greedy_with_ctc_draft(
            model.decoder,
            inputs_embeds,
            attention_mask,
            drafts,
            options,
            end_token_ids,
            pad_token_id=kwargs.get("pad_token_id", decoder_config.pad_token_id),
            cache_argument=cache_argument,
            streamer=passthrough.get("streamer"),
        )
    if options.ctc_decoding_weight > 0 and audio_features is not None:
        scorer = CTCPrefixScorer(
            *audio_features,
            model.ctc_head_classes(),
            options.ctc_decoding_weight,
            end_token_ids=end_token_ids,
            pad_token_id=kwargs.get("pad_token_id", decoder_config.pad_token_id),
            hypotheses_per_clip=options.num_beams,
            candidates=max(CTC_PREFIX_CANDIDATES, 2 * options.num_beams),  # beam search keeps 2 x beams a step
        )
        kwargs["logits_processor"] = [*kwargs.get("logits_processor", []), scorer]
    if options.num_beams > 1 and cache_argument not in kwargs and inputs_embeds.shape[1] > 1:
        kwargs[cache_argument] = _shared_prompt_cache(model.decoder, inputs_embeds, attention_mask, options.num_beams)
    with warnings.catch_warnings():
        # The n-gram guard sees only the transcript, never the prompt, which is what we want; transformers warns
        # about exactly that on every call.
        warnings.filterwarnings("ignore", message="Passing `no_repeat_ngram_size` with `inputs_embeds`")
        return model.decoder.generate(inputs_embeds=inputs_embeds, attention_mask=attention_mask, **kwargs)


def _drafts_apply(model, options: DecodingOptions, passthrough: dict[str, Any], audio_features) -> bool:
    """Whether greedy search checks the CTC head's draft (`ctc_draft`) instead of writing token by token. When it
    could but cannot, the reason is logged: in float32 the text is the same either way, only slower."""
    if not options.ctc_draft or options.num_beams > 1 or options.do_sample or audio_features is None:
        return False
    unsupported = sorted(passthrough.keys() - DRAFT_PASSTHROUGH)
    reason = (
        "CTC prefix scoring steers each step (ctc_decoding_weight > 0)"
        if options.ctc_decoding_weight > 0
        else "this model's CTC head did not train (config.ctc_head_trained)"
        if not model.config.ctc_head_trained
        else f"the generate() options {unsupported} are applied by transformers' own search"
        if unsupported
        else None
    )
    if reason:
        logger.info(f"Greedy search writes token by token without the CTC draft: {reason}.")
    return reason is None


def _streaming_options(options: DecodingOptions, call_options: dict[str, Any], batch_size: int) -> DecodingOptions:
    """The options a streamer can follow: one clip, one hypothesis (transformers refuses beam search with a
    streamer: "`streamer` cannot be used with beam search (yet!)", transformers 5.x)."""
    if batch_size != 1:
        raise ValueError(f"A streamer takes one clip at a time; got a batch of {batch_size}. Stream clips one by one.")
    if options.num_beams == 1:
        return options
    if "num_beams" in call_options:
        raise ValueError(
            f"num_beams={options.num_beams} cannot stream: transformers streams greedy search and sampling only. "
            "Pass num_beams=1 with the streamer, or drop the streamer."
        )
    logger.info(
        "Streaming decodes greedily (num_beams=1), not with this model's %d beams: transformers cannot stream a beam "
        "search.",
        options.num_beams,
    )
    return replace(options, num_beams=1)


def _shared_prompt_cache(decoder, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor | None, copies: int):
    """The decoder's KV cache of each prompt but its last position, computed once per clip and copied for each beam
    (clip-major, as generate() orders the beams); generate() then runs only the last prompt position."""
    prefix_mask = attention_mask[:, :-1] if attention_mask is not None else None
    position_ids = None if prefix_mask is None else (prefix_mask.long().cumsum(-1) - 1).clamp(min=0)
    output = decoder(
        inputs_embeds=inputs_embeds[:, :-1],
        attention_mask=prefix_mask,
        position_ids=position_ids,
        use_cache=True,
        logits_to_keep=1,
    )
    cache = returned_cache(output)
    cache.batch_repeat_interleave(copies)
    return cache


def _surest_warp(
    model, input_features: torch.Tensor, audio_attention_mask: torch.Tensor | None, factors: tuple[float, ...]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Audio embeddings of each clip at the warp factor whose CTC best path is likeliest per audio token.

    Warping moves the log-mel energy at f Hz to factor x f Hz, as a shorter (> 1) or longer (< 1) vocal tract would:
    a test-time vocal tract normalisation for voices unlike the training ones, at one encoder pass per factor."""
    if model.encoder.config.model_type != "whisper":
        raise ValueError("frequency_warps needs a Whisper encoder (log-mel input_features); drop it for this model.")
    centers = _mel_band_centers(model.encoder.config.num_mel_bins)
    classes = model.ctc_head_classes()
    best_embeds, best_confidence, token_mask = None, None, None
    for factor in factors:
        features = input_features if factor == 1.0 else warp_frequency(input_features, centers, factor)
        audio_embeds, token_mask = model.get_audio_features(features, audio_attention_mask)
        best_path = ctc_logits(audio_embeds, classes).log_softmax(-1).amax(-1)  # (B, N)
        confidence = (best_path * token_mask).sum(-1) / token_mask.sum(-1).clamp(min=1)  # (B,)
        if best_embeds is None:
            best_embeds, best_confidence = audio_embeds, confidence
            continue
        surer = confidence > best_confidence
        best_embeds = torch.where(surer[:, None, None], audio_embeds, best_embeds)
        best_confidence = torch.maximum(confidence, best_confidence)
    return best_embeds, token_mask


@lru_cache(maxsize=4)
def _mel_band_centers(num_mel_bins: int):
    """The log-mel bands' centres in Hz, from the Whisper feature extractor's own filter bank."""
    extractor = WhisperFeatureExtractor(feature_size=num_mel_bins)
    return mel_band_centers(extractor.mel_filters, extractor.sampling_rate)
