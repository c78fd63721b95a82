# Class 2, exercise 2, as the course writes it, with the changes it needs to run offline marked "tiny-audio:".
# Run from the repository root after `python scripts/download_samples.py` (which puts test.wav there):
#     .venv/bin/python course/class2/explore_hubert.py [ENCODER]
# ENCODER: any Hub id or directory of a HuBERT, wav2vec2 or Whisper encoder, or a saved tiny-audio model
# (default: openai/whisper-tiny.en, which works offline after `tiny-audio backbones`). With the Hub, the course's
# facebook/hubert-xlarge-ls960-ft prints the course's numbers (149 frames of 1280 dimensions for 3 s).
import sys

import librosa
import torch

from tiny_audio.app.course import AudioEncoder  # tiny-audio: one interface for HuBERT, wav2vec2 and Whisper encoders

ENCODER = sys.argv[1] if len(sys.argv) > 1 else "openai/whisper-tiny.en"  # tiny-audio: the course hard-codes HuBERT

print(f"Loading {ENCODER}...")
# tiny-audio: the course has AutoModel.from_pretrained(...) and Wav2Vec2FeatureExtractor.from_pretrained(...);
# AudioEncoder loads both, and runs Whisper's encoder on the clip's own length (not on 30 s of padding).
try:
    encoder = AudioEncoder.from_pretrained(ENCODER)
except OSError as error:  # tiny-audio: a Hub id this machine cannot get, in one line
    sys.exit(f"error: {error}")
print("✓ Model loaded!\n")

# Load audio
audio_path = "test.wav"  # Update to your audio file
waveform, sr = librosa.load(audio_path, sr=16000)

# Extract features
inputs = encoder.extract_features(waveform, sampling_rate=sr)

# Pass through encoder
print(f"Processing audio through {ENCODER}...")
with torch.no_grad():
    outputs = encoder(**inputs)

embeddings = outputs.last_hidden_state

# Print dimensions
print("\n" + "=" * 50)
print("INPUT (Raw Audio)")
print("=" * 50)
print(f"Shape: {inputs.input_values.shape}")
print(f"Interpretation: [batch_size=1, samples={inputs.input_values.shape[-1]}]")
print(f"Duration: {inputs.input_values.shape[-1] / sr:.2f} seconds")
if "input_features" in inputs:  # tiny-audio: what a Whisper encoder actually reads
    mel = inputs.input_features
    print(
        f"Whisper's log-mel input: {tuple(mel.shape)} = [batch_size=1, mel_bands={mel.shape[1]}, frames={mel.shape[2]}]"
    )

print("\n" + "=" * 50)
print("OUTPUT (Audio Embeddings)")
print("=" * 50)
print(f"Shape: {embeddings.shape}")
print(f"Interpretation: [batch_size=1, time_steps={embeddings.shape[1]}, embedding_dim={embeddings.shape[2]}]")

# Calculate compression
time_reduction = inputs.input_values.shape[-1] / embeddings.shape[1]
time_per_frame = (inputs.input_values.shape[-1] / embeddings.shape[1]) / sr

print(f"\nTime dimension reduction: {time_reduction:.1f}x")
print(f"Each embedding represents: ~{time_per_frame * 1000:.1f}ms of audio")
print(f"Embedding dimensionality: {embeddings.shape[-1]}D")

# Statistics
print("\n" + "=" * 50)
print("EMBEDDING STATISTICS")
print("=" * 50)
print(f"Mean: {embeddings.mean():.4f}")
print(f"Std: {embeddings.std():.4f}")
print(f"Min: {embeddings.min():.4f}")
print(f"Max: {embeddings.max():.4f}")

print("\n✓ Processing complete!")
