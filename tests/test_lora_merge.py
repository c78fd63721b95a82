"""LoRA folded into the backbones' weights for decoding, and taken out again, exactly, before training."""

from __future__ import annotations

import tiny_backbones
import torch
from conftest import LORA

ENCODER_LORA = {"r": 2, "alpha": 4, "dropout": 0.0, "target_modules": ["q_proj", "k_proj"]}


def _trained_lora_model(backbone_paths):
    """Whisper encoder + Llama decoder, both with LoRA, a few steps trained so that every adapter is nonzero."""
    model, processor = tiny_backbones.build_model(
        backbone_paths["whisper"], backbone_paths["llama"], encoder_lora=ENCODER_LORA, decoder_lora=LORA
    )
    batch = processor(audio=[tiny_backbones.tone(0.8), tiny_backbones.tone(0.5, 440)], text=["hello", "hi there"])
    tiny_backbones.fit(model, batch, steps=5, learning_rate=1e-2)
    return model, processor, batch


def _base_weights(model):
    return {name: p.detach().clone() for name, p in model.named_parameters() if "lora_" not in name}


def test_decoding_merges_lora_with_the_same_output_and_training_restores_the_exact_weights(backbone_paths):
    model, processor, batch = _trained_lora_model(backbone_paths)
    before = _base_weights(model)
    inputs = processor(audio=[tiny_backbones.tone(0.8), tiny_backbones.tone(0.5, 440)])
    model.eval()
    with torch.no_grad():
        unmerged_scores = model(**batch).logits  # the adapters beside their base weights
    merged_tokens = model.generate(**inputs, max_new_tokens=6, num_beams=1)
    assert model._unmerged_weights, "decoding merged no adapter"
    assert any(not torch.equal(before[name], p) for name, p in model.named_parameters() if name in before)
    with torch.no_grad():  # merged: the same function of the input, up to float rounding
        torch.testing.assert_close(model(**batch).logits, unmerged_scores, rtol=1e-4, atol=1e-4)

    model.train()  # training takes the adapters out and puts back the frozen weights bit for bit
    assert not model._unmerged_weights
    for name, parameter in model.named_parameters():
        if name in before:
            assert torch.equal(before[name], parameter), f"{name} changed"
    model(**batch).loss.backward()  # and the adapters get gradients again
    assert all(p.grad is not None for name, p in model.named_parameters() if "lora_B" in name)

    model.eval()
    assert torch.equal(model.generate(**inputs, max_new_tokens=6, num_beams=1), merged_tokens)


def test_a_save_after_decoding_writes_the_unmerged_weights(backbone_paths, tmp_path):
    model, processor, _ = _trained_lora_model(backbone_paths)
    before = _base_weights(model)
    model.eval()
    inputs = processor(audio=[tiny_backbones.tone(0.8)])
    tokens = model.generate(**inputs, max_new_tokens=6, num_beams=1)
    model.save_pretrained(tmp_path / "whole", self_contained=True)
    saved = type(model).from_pretrained(tmp_path / "whole")
    for name, parameter in saved.named_parameters():
        if name in before:
            assert torch.equal(before[name], parameter), f"{name} was saved merged"
    assert torch.equal(saved.generate(**inputs, max_new_tokens=6, num_beams=1), tokens)
