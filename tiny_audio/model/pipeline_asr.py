"""ASRPipeline: `pipeline("automatic-speech-recognition", model=..., trust_remote_code=True)` for tiny-audio models.

A saved model's config.json names this class under `custom_pipelines`, so transformers loads it from the model
repository. Timestamps (`return_timestamps`) come from aligning the transcript to the audio with the projector's CTC
head (`alignment.py`); streaming (`generate_kwargs={"streamer": ...}`) hands the decoded tokens to a transformers
streamer as they come. With a `context`, a transcript's near spellings of its entries become the entries where the CTC
head allows it (`context_snap.py`). Hub remote code: imports only numpy, torch, transformers and sibling modules.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from typing import Any

import numpy as np
import torch
from transformers import Pipeline

from .alignment import align_words, audio_token_times, check_timestamps_supported, segments
from .audio_blocks import cut_at_pauses
from .audio_input import AudioFile, audio_file, load_audio, split_at_pauses
from .constants import DEFAULT_CHUNK_SECONDS, MIN_SECONDS, SAMPLING_RATE
from .context_snap import audio_scorers, decoder_knows, snap_to_context
from .context_words import check_context
from .decoding_options import DecodingOptions, check_option

# oneDNN (PyTorch's CPU convolutions) keeps a primitive for each input shape it has seen, 1024 by default; for the
# Whisper encoder's two convolutions each costs about 0.26 MB (measured), and every piece of a long recording has a
# length of its own, so the cache grew with the recording (issue 48). A piece reuses its primitives only while it is
# decoded (one per frequency warp), so a small cache costs nothing. oneDNN reads this when it makes its first
# primitive; a value the user set is kept.
ONEDNN_PRIMITIVE_CACHE = ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "128")


class ASRPipeline(Pipeline):
    """Audio in (path, bytes, array, tensor or dict), `{"text": ...}` out; with `return_timestamps`,
    `{"text": ..., "chunks": [{"text": ..., "timestamp": (start, end)}, ...]}` in seconds, as Whisper's pipeline.

    Call arguments: `batch_size`, `max_new_tokens`, `task` (a key of the config's `prompts`) or a free `prompt`,
    `context` (names and words to expect: a list of strings or one comma-separated string, appended to the
    instruction by context_words.py; also taken in `generate_kwargs`, where transformers' pipelines take prompts),
    `chunk_length_s` (longest piece a long clip is cut into at pauses; default DEFAULT_CHUNK_SECONDS, 1 to
    MAX_CHUNK_SECONDS), `return_timestamps` (True: segments, "word": words; transcripts only, and only for models whose
    projector trained its CTC head), and `generate_kwargs` (any other `generate()` option; a `streamer` gets every
    piece of one clip, then one `end()`).
    Each chunk's text keeps its leading space, so the chunks' texts joined are the text.
    """

    _load_processor = True
    _load_tokenizer = False
    _load_feature_extractor = False
    _load_image_processor = False
    _load_video_processor = False

    def __init__(self, model, processor=None, **kwargs):
        if processor is None:
            raise ValueError("ASRPipeline needs the model's ASRProcessor (AutoProcessor.from_pretrained(model_dir)).")
        # The base class batches through the tokenizer's padding settings; audio stays a list until _forward.
        kwargs.setdefault("tokenizer", processor.tokenizer)
        os.environ.setdefault(*ONEDNN_PRIMITIVE_CACHE)
        super().__init__(model=model, processor=processor, **kwargs)

    def __call__(self, inputs: Any, *args, **kwargs):
        if kwargs.get("batch_size") is not None:  # transformers takes it before `_sanitize_parameters` sees it
            check_option("batch_size", kwargs["batch_size"])
        return super().__call__(inputs, *args, **kwargs)

    def _sanitize_parameters(
        self,
        max_new_tokens: int | None = None,
        task: str | None = None,
        prompt: str | None = None,
        chunk_length_s: float | None = None,
        return_timestamps: bool | str | None = None,
        generate_kwargs: dict | None = None,
        context: str | list[str] | None = None,
        **kwargs,
    ):
        if kwargs:
            raise ValueError(
                f"Unknown arguments {sorted(kwargs)}; ASRPipeline takes batch_size, max_new_tokens, task, prompt, "
                "context, chunk_length_s, return_timestamps and generate_kwargs."
            )
        forward_params: dict[str, Any] = {"generate_kwargs": dict(generate_kwargs or {})}
        if "context" in forward_params["generate_kwargs"]:  # not a generate() option: it goes into the instruction
            if context is not None:
                raise ValueError("context is given twice (as an argument and in generate_kwargs); give it once.")
            context = forward_params["generate_kwargs"].pop("context")
        forward_params["chunk_length_s"] = self._piece_seconds(chunk_length_s)
        if return_timestamps is not None:
            if not (return_timestamps is True or return_timestamps is False or return_timestamps == "word"):
                raise ValueError(
                    f'return_timestamps={return_timestamps!r} is not accepted; give True (segments), "word" '
                    "(words) or False."
                )
            if return_timestamps:
                check_timestamps_supported(self.model.config)
            forward_params["return_timestamps"] = return_timestamps
        if max_new_tokens is not None:
            forward_params["generate_kwargs"]["max_new_tokens"] = max_new_tokens
        # Judged now, as generate() will judge them, so a bad decoding option fails before any audio is decoded.
        DecodingOptions.resolve(self.model.config.generation, forward_params["generate_kwargs"])
        # Resolve now so an unknown task or a bad context fails before any audio is decoded.
        config = self.model.config
        forward_params["instruction"] = config.instruction(task=task, prompt=prompt, context=context)
        # Timestamps time a transcript's words: the transcribe instruction, with or without a context.
        transcript = config.instruction(task=task, prompt=prompt) == config.prompts.get("transcribe")
        if return_timestamps and not transcript:
            raise ValueError("return_timestamps times the words of a transcript: use task='transcribe' (the default).")
        # A transcript's near spellings of listed entries snap to them where the CTC head agrees (context_snap.py);
        # a streamer has shown the text as written, so the returned text stays that too.
        if transcript and config.ctc_head_trained and forward_params["generate_kwargs"].get("streamer") is None:
            forward_params["snap_entries"] = check_context(context)
        return {}, forward_params, {}

    def _piece_seconds(self, chunk_length_s: float | None) -> float:
        return DEFAULT_CHUNK_SECONDS if chunk_length_s is None else check_option("chunk_length_s", chunk_length_s)

    def preprocess(self, inputs: Any) -> dict[str, np.ndarray | AudioFile]:
        # Kept as numpy (the collator hands a batch over as a list). A local file is only checked here, read through
        # block by block; `_forward` reads it again as it goes, so a long recording is never held whole.
        if (source := audio_file(inputs)) is not None:
            source.check()
            return {"audio": source}
        return {"audio": load_audio(inputs)}

    def _forward(
        self,
        model_inputs: dict,
        instruction: str,
        chunk_length_s: float,
        generate_kwargs: dict,
        return_timestamps: bool | str = False,
        snap_entries: tuple[str, ...] = (),
    ) -> dict:
        audio = model_inputs["audio"]
        clips = [audio] if isinstance(audio, (np.ndarray, AudioFile)) else list(audio)
        streamer = generate_kwargs.get("streamer")
        if streamer is not None:
            if len(clips) > 1:
                raise ValueError(f"A streamer takes one clip at a time; got {len(clips)}. Call with batch_size=1.")
            streamer = _PieceStreamer(streamer, self.processor.tokenizer.encode(" ", add_special_tokens=False))
            generate_kwargs = {**generate_kwargs, "streamer": streamer}
        texts: list[list[str]] = [[] for _ in clips]
        words: list[list[dict]] = [[] for _ in clips]
        try:
            for group in _groups(_pieces(clips, chunk_length_s), len(clips)):  # as many pieces per call as clips
                pieces_audio = [piece for *_, piece in group]  # decoded and checked once, in `preprocess`
                batch = self.processor(
                    audio=pieces_audio, instruction=instruction, return_tensors="pt", check_audio=False
                ).to(self.device)
                rows = self.model.generate(**batch, **generate_kwargs).tolist()
                pieces_text = [self.processor.decode(row) for row in rows]
                # Snapping and timestamps both read the CTC head on the unwarped audio: encoded once for both.
                audio_features = self._audio_features(batch) if snap_entries or return_timestamps else None
                if snap_entries:
                    pieces_text, rows = self._snapped(audio_features, pieces_text, rows, snap_entries)
                timed = self._timed_words(audio_features, rows, group) if return_timestamps else [[] for _ in group]
                for (owner, *_), text, piece_words in zip(group, pieces_text, timed, strict=True):
                    if piece_words and any(texts[owner]):  # the texts of a clip's pieces are joined with a space
                        piece_words[0]["text"] = " " + piece_words[0]["text"]
                    texts[owner].append(text)
                    words[owner].extend(piece_words)
        finally:
            if streamer is not None:  # also on an error: a reader of the stream must not wait for ever
                streamer.end_of_clip()
        outputs: dict[str, list] = {"text": [" ".join(text for text in parts if text) for parts in texts]}
        if return_timestamps:
            outputs["chunks"] = [
                clip_words if return_timestamps == "word" else segments(clip_words) for clip_words in words
            ]
        return outputs

    def _audio_features(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch's audio embeddings (B, N, D) and their mask (B, N), unwarped."""
        audio = batch.get("input_features", batch.get("input_values"))
        return self.model.get_audio_features(audio, batch["audio_attention_mask"])

    def _snapped(self, audio_features, texts: list[str], rows: list[list[int]], entries: tuple[str, ...]):
        """Each piece's text with near spellings of `entries` snapped to them (context_snap.py), and its token ids:
        those of the new text where it changed, so that timestamps time the words returned."""
        tokenizer = self.processor.tokenizer
        scorers = audio_scorers(*audio_features, self.model.ctc_head_classes(), tokenizer)
        is_word = partial(decoder_knows, tokenizer)
        snapped = [snap_to_context(text, entries, score, is_word) for text, score in zip(texts, scorers, strict=True)]
        new_rows = [
            row if new == old else tokenizer.encode(new, add_special_tokens=False)
            for row, old, new in zip(rows, texts, snapped, strict=True)
        ]
        return snapped, new_rows

    def _timed_words(self, audio_features, rows: list[list[int]], group: list) -> list[list[dict]]:
        """Word chunks of each decoded piece in `group` (its token ids), in seconds from the start of its clip."""
        audio_embeds, token_mask = audio_features  # (B, N, D), (B, N)
        classes = self.model.ctc_head_classes()
        tokenizer = self.processor.tokenizer
        special = set(tokenizer.all_special_ids)
        hop = self.processor.feature_extractor.hop_length if self.processor.is_whisper else 1
        token_seconds = audio_token_times(self.processor.audio_layout, hop)
        timed = []
        for (_, start, piece), row, embeds, mask in zip(group, rows, audio_embeds, token_mask, strict=True):
            ids = [token for token in row if token not in special]
            timed.append(
                align_words(
                    embeds[mask],
                    classes,
                    ids,
                    tokenizer.convert_ids_to_tokens(ids),
                    tokenizer.decode,
                    token_seconds,
                    duration=piece.shape[0] / SAMPLING_RATE,
                    offset=start,
                )
            )
        return timed

    def postprocess(self, model_outputs: dict) -> dict[str, Any]:
        # batch_size > 1: the base class hands over one clip's entries; else lists of one
        one_clip = isinstance(model_outputs["text"], str)
        return {key: value if one_clip else value[0] for key, value in model_outputs.items()}


def _pieces(clips: list, chunk_length_s: float) -> Iterator[tuple[int, float, np.ndarray]]:
    """Every piece of every clip in order, tagged with its clip and start (s); pieces too short or silent to hold
    speech are left out. A file is read and cut as it goes: one piece of it is held at a time, not the recording."""
    for owner, clip in enumerate(clips):
        start = 0
        if isinstance(clip, np.ndarray):
            pieces = split_at_pauses(clip, chunk_length_s)
        else:
            pieces = cut_at_pauses(clip.blocks(), chunk_length_s)
        for piece in pieces:
            if piece.shape[0] >= MIN_SECONDS * SAMPLING_RATE and np.abs(piece).max() > 0:
                yield owner, start / SAMPLING_RATE, piece
            start += piece.shape[0]


def _groups(items: Iterator, size: int) -> Iterator[list]:
    """Consecutive lists of `size` items (the last may be shorter)."""
    group = []
    for item in items:
        group.append(item)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


class _PieceStreamer:
    """The caller's streamer across the pieces of one clip: each piece's tokens pass through, the tokens of a space
    go between two pieces (as their texts are joined), and `end()` comes once, after the clip's last piece (a
    TextIteratorStreamer stops at its first `end()`)."""

    def __init__(self, streamer, separator_ids: list[int]):
        self.streamer, self.separator_ids = streamer, separator_ids
        self.tokens_put, self.pieces_ended = 0, 0

    def put(self, value: torch.Tensor) -> None:
        if self.pieces_ended and self.tokens_put and value.numel() and self.separator_ids:
            self.streamer.put(torch.tensor(self.separator_ids))  # before the first token of a later piece
            self.pieces_ended = 0
        self.tokens_put += value.numel()
        self.streamer.put(value)

    def end(self) -> None:  # a piece is done
        self.pieces_ended += 1

    def end_of_clip(self) -> None:
        self.streamer.end()
