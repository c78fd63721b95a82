"""ASRPipeline: `pipeline("automatic-speech-recognition", model=..., trust_remote_code=True)` for tiny-audio models.

A saved model's config.json names this class under `custom_pipelines`, so transformers loads it from the model
repository. Hub remote code: imports only numpy, transformers and sibling modules.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from transformers import Pipeline

from .audio_input import MIN_SECONDS, SAMPLING_RATE, load_audio, split_at_pauses

# Longer clips are cut at pauses into pieces of at most this many seconds, transcribed one by one, and the texts
# joined: Whisper's encoder takes at most 30 s, and the default model trained on clips of up to 20 s.
DEFAULT_CHUNK_SECONDS = 20.0


class ASRPipeline(Pipeline):
    """Audio in (path, bytes, array, tensor or dict), `{"text": ...}` out.

    Call arguments: `batch_size`, `max_new_tokens`, `task` ("transcribe", "describe", ...) or a free `prompt`,
    `chunk_length_s` (longest piece a long clip is cut into at pauses; default 20), and `generate_kwargs` (any other
    `generate()` option).
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
        super().__init__(model=model, processor=processor, **kwargs)

    def _sanitize_parameters(
        self,
        max_new_tokens: int | None = None,
        task: str | None = None,
        prompt: str | None = None,
        chunk_length_s: float | None = None,
        generate_kwargs: dict | None = None,
        **kwargs,
    ):
        if kwargs:
            raise ValueError(
                f"Unknown arguments {sorted(kwargs)}; ASRPipeline takes batch_size, max_new_tokens, task, prompt, "
                "chunk_length_s and generate_kwargs."
            )
        forward_params: dict[str, Any] = {"generate_kwargs": dict(generate_kwargs or {})}
        forward_params["chunk_length_s"] = self._piece_seconds(chunk_length_s)
        if max_new_tokens is not None:
            forward_params["generate_kwargs"]["max_new_tokens"] = max_new_tokens
        # Resolve now so an unknown task fails before any audio is decoded.
        forward_params["instruction"] = self.model.config.instruction(task=task, prompt=prompt)
        return {}, forward_params, {}

    def _piece_seconds(self, chunk_length_s: float | None) -> float:
        seconds = DEFAULT_CHUNK_SECONDS if chunk_length_s is None else float(chunk_length_s)
        longest = 30.0 if self.processor.is_whisper else float("inf")
        if not 1 <= seconds <= longest:
            raise ValueError(
                f"chunk_length_s={chunk_length_s} is out of range; accepted: 1 to {longest:g} s for this encoder."
            )
        return seconds

    def preprocess(self, inputs: Any) -> dict[str, np.ndarray]:
        return {"audio": load_audio(inputs)}  # kept as numpy: the collator hands a batch over as a list

    def _forward(self, model_inputs: dict, instruction: str, chunk_length_s: float, generate_kwargs: dict) -> dict:
        audio = model_inputs["audio"]
        clips = [audio] if isinstance(audio, np.ndarray) else list(audio)
        # Every piece of every clip, tagged with its clip; pieces too short or silent to hold speech are left out.
        pieces = [
            (owner, piece)
            for owner, clip in enumerate(clips)
            for piece in split_at_pauses(clip, chunk_length_s)
            if piece.shape[0] >= MIN_SECONDS * SAMPLING_RATE and np.abs(piece).max() > 0
        ]
        texts: list[list[str]] = [[] for _ in clips]
        for first in range(0, len(pieces), len(clips)):  # as many pieces per model call as clips in the batch
            group = pieces[first : first + len(clips)]
            batch = self.processor(audio=[piece for _, piece in group], instruction=instruction, return_tensors="pt")
            tokens = self.model.generate(**batch.to(self.device), **generate_kwargs)
            for (owner, _), row in zip(group, tokens, strict=True):
                texts[owner].append(self.processor.decode(row))
        return {"text": [" ".join(text for text in parts if text) for parts in texts]}

    def postprocess(self, model_outputs: dict) -> dict[str, str]:
        text = model_outputs["text"]  # batch_size > 1: the base class hands over one clip's entry; else the list
        return {"text": text if isinstance(text, str) else text[0]}
