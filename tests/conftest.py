"""Shared fixtures: tiny random backbones saved once per test session, a trained tiny model, and a tiny
Whisper + Llama model whose CTC head counts as trained."""

from __future__ import annotations

import os

import pytest
import tiny_backbones
import torch

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never use the Hub; the local-Hub tests set their own endpoint
torch.set_num_threads(min(2, torch.get_num_threads()))

LORA = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}
TARGETS = ["hello", "hi there"]


@pytest.fixture(scope="session")
def backbone_paths(tmp_path_factory):
    return tiny_backbones.save_all(tmp_path_factory.mktemp("backbones"))


@pytest.fixture(scope="session")
def training_clips():
    return [tiny_backbones.tone(1.0, 220), tiny_backbones.tone(0.6, 660, seed=1)]


@pytest.fixture(scope="session")
def trained_model(backbone_paths, training_clips):
    """HuBERT + Qwen3 with decoder LoRA, overfitted on two clips so that its output is known text."""
    model, processor = tiny_backbones.build_model(backbone_paths["hubert"], backbone_paths["qwen3"], decoder_lora=LORA)
    tiny_backbones.fit(model, processor(audio=training_clips, text=TARGETS), steps=300, learning_rate=3e-3)
    return model.eval(), processor


@pytest.fixture(scope="module")
def tiny(backbone_paths):
    """A tiny random Whisper + Llama model in float32, its CTC head declared trained: greedy search uses drafts, and
    a context's near spellings are checked against its CTC head."""
    model, processor = tiny_backbones.build_model(
        backbone_paths["whisper"], backbone_paths["llama"], generation={"max_new_tokens": 10}
    )
    model.config.ctc_head_trained = True
    return model.float().eval(), processor
