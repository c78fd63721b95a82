"""ASRPipeline: `pipeline("automatic-speech-recognition", model=..., trust_remote_code=True)` for tiny-audio models.

A saved model's config.json names this class under `custom_pipelines`, so transformers loads it from the model
repository. Hub remote code: imports only numpy, transformers and sibling modules.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from transformers import Pipeline

from .audio_input import load_audio


class ASRPipeline(Pipeline):
    """Audio in (path, bytes, array, tensor or dict), `{"text": ...}` out.

    Call arguments: `batch_size`, `max_new_tokens`, `task` ("transcribe", "describe", ...) or a free `prompt`, and
    `generate_kwargs` (any other `generate()` option).
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
        generate_kwargs: dict | None = None,
        **kwargs,
    ):
        if kwargs:
            raise ValueError(
                f"Unknown arguments {sorted(kwargs)}; ASRPipeline takes batch_size, max_new_tokens, task, prompt "
                "and generate_kwargs."
            )
        forward_params: dict[str, Any] = {"generate_kwargs": dict(generate_kwargs or {})}
        if max_new_tokens is not None:
            forward_params["generate_kwargs"]["max_new_tokens"] = max_new_tokens
        # Resolve now so an unknown task fails before any audio is decoded.
        forward_params["instruction"] = self.model.config.instruction(task=task, prompt=prompt)
        return {}, forward_params, {}

    def preprocess(self, inputs: Any) -> dict[str, np.ndarray]:
        return {"audio": load_audio(inputs)}  # kept as numpy: the collator hands a batch over as a list

    def _forward(self, model_inputs: dict, instruction: str, generate_kwargs: dict) -> dict:
        audio = model_inputs["audio"]
        clips = [audio] if isinstance(audio, np.ndarray) else list(audio)
        batch = self.processor(audio=clips, instruction=instruction, return_tensors="pt").to(self.device)
        return {"tokens": self.model.generate(**batch, **generate_kwargs)}

    def postprocess(self, model_outputs: dict) -> dict[str, str]:
        return {"text": self.processor.decode(model_outputs["tokens"][0])}
