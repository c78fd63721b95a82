# Class 2, exercise 1, as the course writes it, with the changes it needs to run offline marked "tiny-audio:".
# Run from the repository root after `python scripts/download_samples.py` (which puts test.wav there):
#     .venv/bin/python course/class2/explore_audio.py
import librosa
import librosa.display  # noqa: F401 (the course imports it; the plots below do not need it)
import matplotlib

matplotlib.use("Agg")  # tiny-audio: write the PNG without a display (a terminal or an SSH session)
import matplotlib.pyplot as plt
import numpy as np
from transformers import Wav2Vec2FeatureExtractor, WhisperFeatureExtractor

# Load an audio file
audio_path = "test.wav"  # Update to your audio file
waveform, sr = librosa.load(audio_path, sr=16000)

print(f"Sample rate: {sr} Hz")
print(f"Duration: {len(waveform) / sr:.2f} seconds")
print(f"Shape: {waveform.shape}")
print(f"Value range: [{waveform.min():.4f}, {waveform.max():.4f}]")

# Apply feature extraction
# tiny-audio: the course loads this with Wav2Vec2FeatureExtractor.from_pretrained("facebook/hubert-xlarge-ls960-ft"),
# which needs the Hub. A feature extractor has settings, no weights: these are that file's (preprocessor_config.json).
feature_extractor = Wav2Vec2FeatureExtractor(
    feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True, return_attention_mask=True
)
inputs = feature_extractor(waveform, sampling_rate=sr, return_tensors="pt")

print("\nAfter feature extraction:")
print(f"Shape: {inputs.input_values.shape}")
print(f"Mean: {inputs.input_values.mean():.4f}")
print(f"Std: {inputs.input_values.std():.4f}")

# tiny-audio: the offline encoder, Whisper, reads something else: a log-mel spectrogram, 80 frequency bands,
# 100 frames a second (one every 160 samples). Its extractor has settings only, too (these are Whisper's defaults).
log_mel = WhisperFeatureExtractor()(waveform, sampling_rate=sr, padding="longest", return_tensors="np")
log_mel = log_mel.input_features[0]  # (80 bands, frames)
print("\nWhisper's log-mel features (what Whisper's encoder reads):")
print(f"Shape: {log_mel.shape}  (80 mel bands x {log_mel.shape[1]} frames of 10 ms)")

# Visualize
fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(20, 4))  # tiny-audio: a third panel for Whisper's log-mel

# Original waveform
ax1.plot(np.arange(len(waveform)) / sr, waveform)
ax1.set_title("Raw Waveform")
ax1.set_xlabel("Time (seconds)")
ax1.set_ylabel("Amplitude")
ax1.grid(True, alpha=0.3)

# Normalized waveform
normalized = inputs.input_values.squeeze().numpy()
ax2.plot(np.arange(len(normalized)) / sr, normalized)
ax2.set_title("After Z-Normalization")
ax2.set_xlabel("Time (seconds)")
ax2.set_ylabel("Normalized Amplitude")
ax2.grid(True, alpha=0.3)

# tiny-audio: Whisper's log-mel spectrogram
ax3.imshow(log_mel, origin="lower", aspect="auto", extent=(0, log_mel.shape[1] / 100, 0, log_mel.shape[0]))
ax3.set_title("Whisper's Log-Mel Spectrogram")
ax3.set_xlabel("Time (seconds)")
ax3.set_ylabel("Mel band")

plt.tight_layout()
plt.savefig("audio_processing.png", dpi=150)
print("\n✓ Saved visualization to audio_processing.png")
