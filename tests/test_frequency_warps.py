"""Test-time frequency warps (`frequency_warps` in generate): each clip decodes from the warp its CTC head reads most
confidently, and a warp is applied exactly as the training augmentation applies it."""

from __future__ import annotations

import pytest
import tiny_backbones
import torch

from tiny_audio.model.ctc_head import ctc_classes, ctc_logits
from tiny_audio.model.decoding import _surest_warp
from tiny_audio.model.frequency_warp import mel_band_centers, warp_frequency

FACTORS = (0.85, 1.0, 1.15)
OPTIONS = {"num_beams": 1, "max_new_tokens": 6}


@pytest.fixture(scope="module")
def untrained(backbone_paths):
    model, processor = tiny_backbones.build_model(backbone_paths["whisper"], backbone_paths["llama"])
    clips = [tiny_backbones.tone(1.0, 300), tiny_backbones.tone(0.5, 900, seed=4), tiny_backbones.tone(0.8, 2000)]
    extractor = processor.feature_extractor
    centers = mel_band_centers(extractor.mel_filters, extractor.sampling_rate)
    return model.eval(), processor(audio=clips), centers


def warped(batch, centers, factor: float) -> dict:
    return {**batch, "input_features": warp_frequency(batch["input_features"], centers, factor)}


def ctc_confidence(model, batch) -> torch.Tensor:
    """Mean best-path log-probability of each clip's real audio tokens under the projector's CTC head."""
    with torch.no_grad():
        embeds, mask = model.get_audio_features(batch["input_features"], batch["audio_attention_mask"])
    best = ctc_logits(embeds, ctc_classes(model.get_input_embeddings().weight)).log_softmax(-1).amax(-1)
    return torch.stack([best[clip, mask[clip]].mean() for clip in range(len(best))])


def test_torch_and_numpy_warps_agree(untrained):
    _, batch, centers = untrained
    features = batch["input_features"]
    for factor in FACTORS:
        expected = torch.stack([torch.from_numpy(warp_frequency(clip.numpy(), centers, factor)) for clip in features])
        assert torch.allclose(warp_frequency(features, centers, factor), expected, atol=1e-6)


def test_one_factor_decodes_the_warped_features(untrained):
    model, batch, centers = untrained
    assert torch.equal(model.generate(**batch, frequency_warps=[1.0], **OPTIONS), model.generate(**batch, **OPTIONS))
    inside = model.generate(**batch, frequency_warps=[1.15], **OPTIONS)
    assert torch.equal(inside, model.generate(**warped(batch, centers, 1.15), **OPTIONS))


def test_each_clip_takes_the_audio_of_its_surest_warp(untrained):
    model, batch, centers = untrained
    per_factor = []
    for factor in FACTORS:
        features = warped(batch, centers, factor)
        with torch.no_grad():
            per_factor.append(model.get_audio_features(features["input_features"], features["audio_attention_mask"]))
    confidences = torch.stack([ctc_confidence(model, warped(batch, centers, factor)) for factor in FACTORS])
    with torch.no_grad():
        chosen, mask = _surest_warp(model, batch["input_features"], batch["audio_attention_mask"], tuple(FACTORS))
    surest = confidences.argmax(0).tolist()
    assert len(set(surest)) > 1, "every clip chose the same warp: this test would not see a per-clip choice"
    assert torch.equal(mask, per_factor[0][1])
    for clip, choice in enumerate(surest):
        assert torch.equal(chosen[clip], per_factor[choice][0][clip])


@pytest.mark.parametrize(
    "encoder,warps,message",
    [("whisper", [1.0, 3.0], "give factors from 0.5 to 2"), ("hubert", [0.9, 1.1], "needs a Whisper encoder")],
)
def test_bad_warps_say_what_is_accepted(backbone_paths, encoder, warps, message):
    model, processor = tiny_backbones.build_model(backbone_paths[encoder], backbone_paths["llama"])
    batch = processor(audio=[tiny_backbones.tone(0.5, 300)])
    with pytest.raises(ValueError, match=message):
        model.generate(**batch, frequency_warps=warps, **OPTIONS)
