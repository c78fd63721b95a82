"""Whisper's encoder reading a clip followed by silence up to a window (`encoder_window_seconds`)."""

from __future__ import annotations

import numpy as np
import pytest
import tiny_backbones
import torch
from transformers import WhisperFeatureExtractor, WhisperModel

from tiny_audio import ASRConfig
from tiny_audio.model.whisper_encoder import _followed_by_silence, whisper_encode


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """A tone with noise and a loudness swing, so the log-mel has a clear loudest value and quiet stretches."""
    rng = np.random.default_rng(seed)
    times = np.arange(int(seconds * 16_000)) / 16_000
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 1.5 * times)
    return (envelope * (0.3 * np.sin(2 * np.pi * 180 * times) + 0.05 * rng.standard_normal(times.size))).astype(
        np.float32
    )


def test_the_silence_is_what_the_feature_extractor_writes_for_zero_samples():
    extractor = WhisperFeatureExtractor(feature_size=80)
    clip = speech_like(1.3)
    alone = torch.tensor(extractor(clip, sampling_rate=16_000, padding="longest", return_tensors="np").input_features)
    padded = torch.tensor(extractor(clip, sampling_rate=16_000, return_tensors="np").input_features)  # 30 s
    frames = alone.shape[-1]
    filled, mask = _followed_by_silence(alone, torch.ones(1, frames), window=500, most=3000)
    assert filled.shape[-1] == 500 and int(mask.sum()) == 500
    # Frames within the 400-sample STFT window of the clip's end see reflected samples there, zeros in the padded run.
    torch.testing.assert_close(filled[..., : frames - 2], padded[..., : frames - 2])
    torch.testing.assert_close(filled[..., frames + 2 :], padded[..., frames + 2 : 500])


def test_a_full_window_reads_as_the_stock_encoder_and_differs_from_the_clip_alone(backbone_paths):
    encoder = WhisperModel.from_pretrained(backbone_paths["whisper"]).get_encoder().eval()
    extractor = WhisperFeatureExtractor.from_pretrained(backbone_paths["whisper"])
    alone = torch.tensor(extractor(speech_like(2.0), sampling_rate=16_000, padding="longest").input_features)
    frames = alone.shape[-1]
    lengths = torch.tensor([frames // 2])
    with torch.no_grad():
        windowed = whisper_encode(encoder, alone, torch.ones(1, frames), lengths, window_mel_frames=3000)
        filled, _ = _followed_by_silence(alone, torch.ones(1, frames), window=3000, most=3000)
        stock = encoder(filled).last_hidden_state[:, : frames // 2]
        trimmed = whisper_encode(encoder, alone, torch.ones(1, frames), lengths)
    assert windowed.shape == trimmed.shape == stock.shape
    torch.testing.assert_close(windowed, stock, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(windowed, trimmed, atol=1e-3)


def test_windowed_audio_features_are_the_same_alone_and_in_a_batch(backbone_paths):
    model, processor = tiny_backbones.build_model(
        backbone_paths["whisper"], backbone_paths["llama"], encoder_window_seconds=2.0
    )
    # Shorter than the window, and one longer (it keeps its own length).
    clips = [speech_like(1.3), speech_like(0.37, seed=2), speech_like(2.6, seed=3)]
    batch = processor(audio=clips)
    embeds, mask = model.get_audio_features(batch["input_features"], batch["audio_attention_mask"])
    for index, clip in enumerate(clips):
        alone = processor(audio=[clip])
        single, single_mask = model.get_audio_features(alone["input_features"], alone["audio_attention_mask"])
        assert single_mask.sum() == mask[index].sum()
        torch.testing.assert_close(embeds[index][mask[index]], single[0][single_mask[0]], atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("seconds", [0, -1, 31])
def test_a_window_outside_whispers_30_seconds_is_refused(seconds):
    with pytest.raises(ValueError, match="encoder_window_seconds"):
        ASRConfig(encoder_name_or_path="e", decoder_name_or_path="d", encoder_window_seconds=seconds)


def test_a_window_on_an_encoder_other_than_whisper_is_refused(backbone_paths):
    with pytest.raises(ValueError, match="encoder_window_seconds is for Whisper"):
        tiny_backbones.build_model(backbone_paths["hubert"], backbone_paths["llama"], encoder_window_seconds=10)
