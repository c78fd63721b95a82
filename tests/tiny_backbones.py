"""Tiny random backbones saved as ordinary model directories, so tests exercise the real loading paths offline.

Encoders: HuBERT, wav2vec2, Whisper (hidden 32, 2 layers). Decoders: Llama, Qwen3 (hidden 32, 2 layers) sharing a
character-level tokenizer with a ChatML chat template.
"""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer, decoders, models
from transformers import (
    GenerationConfig,
    HubertConfig,
    HubertModel,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    Qwen3Config,
    Qwen3ForCausalLM,
    Wav2Vec2Config,
    Wav2Vec2FeatureExtractor,
    Wav2Vec2Model,
    WhisperConfig,
    WhisperFeatureExtractor,
    WhisperModel,
)

from tiny_audio import ASRConfig, ASRModel, ASRProcessor

ENCODERS = ("hubert", "wav2vec2", "whisper")
DECODERS = ("llama", "qwen3")
SPECIAL_TOKENS = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>"]
CHARACTERS = list(string.ascii_letters + string.digits + " .,'?!-:\n")
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
HIDDEN = 32


def make_tokenizer() -> PreTrainedTokenizerFast:
    vocab = {token: index for index, token in enumerate(SPECIAL_TOKENS + CHARACTERS)}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    backend.add_special_tokens(SPECIAL_TOKENS)
    backend.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="<pad>",
        unk_token="<unk>",
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        chat_template=CHAT_TEMPLATE,
    )


def _conv_encoder_config(config_class):
    return config_class(
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16,) * 7,  # the real 320x stride (5·2·2·2·2·2·2) with narrow channels
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        vocab_size=32,
    )


def save_encoder(kind: str, directory: Path) -> Path:
    torch.manual_seed(0)
    if kind == "whisper":
        config = WhisperConfig(
            d_model=HIDDEN,
            encoder_layers=2,
            encoder_attention_heads=2,
            encoder_ffn_dim=64,
            decoder_layers=1,
            decoder_attention_heads=2,
            decoder_ffn_dim=64,
            vocab_size=64,
            num_mel_bins=80,
            max_source_positions=1500,
            max_target_positions=32,
            pad_token_id=1,
            bos_token_id=2,
            eos_token_id=2,
            decoder_start_token_id=2,
        )
        model, extractor = WhisperModel(config), WhisperFeatureExtractor(feature_size=80)
    else:
        config_class, model_class = {
            "hubert": (HubertConfig, HubertModel),
            "wav2vec2": (Wav2Vec2Config, Wav2Vec2Model),
        }[kind]
        model = model_class(_conv_encoder_config(config_class))
        extractor = Wav2Vec2FeatureExtractor(do_normalize=True, return_attention_mask=True)
    model.save_pretrained(directory)
    extractor.save_pretrained(directory)
    return directory


def save_decoder(kind: str, directory: Path) -> Path:
    torch.manual_seed(0)
    tokenizer = make_tokenizer()
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
    )
    if kind == "llama":
        model = LlamaForCausalLM(LlamaConfig(**common))
    else:
        model = Qwen3ForCausalLM(Qwen3Config(head_dim=8, **common))
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id
    )
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def save_all(root: Path) -> dict[str, Path]:
    """Every tiny backbone under `root`, keyed by kind."""
    paths = {kind: save_encoder(kind, root / kind) for kind in ENCODERS}
    paths.update({kind: save_decoder(kind, root / kind) for kind in DECODERS})
    return paths


def build_model(
    encoder_dir: Path, decoder_dir: Path, seed: int = 0, **config_overrides
) -> tuple[ASRModel, ASRProcessor]:
    config = ASRConfig(
        encoder_name_or_path=str(encoder_dir),
        decoder_name_or_path=str(decoder_dir),
        projector_hidden_size=64,
        projector_stack=config_overrides.pop("projector_stack", 2),
        **config_overrides,
    )
    processor = ASRProcessor.from_config(config)
    torch.manual_seed(seed)
    return ASRModel(config).eval(), processor


def save_model(directory: Path, encoder_dir: Path, decoder_dir: Path, **config_overrides) -> Path:
    """A randomly initialised tiny-audio model saved in `directory` like a trained one; returns `directory`."""
    model, processor = build_model(encoder_dir, decoder_dir, **config_overrides)
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory


def fit(model, batch: dict, steps: int, learning_rate: float) -> None:
    """Train `model`'s trainable weights on one batch for `steps` AdamW steps (a test's known starting point)."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate)
    model.train()
    for _ in range(steps):
        model(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad()


def tone(seconds: float, frequency: float = 220.0, sampling_rate: int = 16_000, seed: int = 0) -> np.ndarray:
    """A deterministic test clip: a tone with a little noise, peak 0.5."""
    time = np.arange(int(seconds * sampling_rate)) / sampling_rate
    noise = np.random.default_rng(seed).normal(0, 0.05, time.shape)
    return (0.45 * np.sin(2 * np.pi * frequency * time) + noise).astype(np.float32)
