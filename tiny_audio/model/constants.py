"""Numbers the model's modules share, each defined once with where it comes from. Imports nothing."""

SAMPLING_RATE = 16_000  # every supported encoder was pretrained on 16 kHz audio
MIN_SECONDS = 0.1  # below this the encoders' convolutions produce no frame worth a token
WHISPER_MAX_SECONDS = 30  # Whisper's position table covers 1500 encoder frames = 30 s at 50 frames/s
# Longer clips are cut at pauses into pieces of at most this many seconds, transcribed one by one, and the texts
# joined. Whisper's encoder takes at most 30 s, but the decoder learned one sentence per clip (a synthetic Austen
# corpus built like the default model's: median 4.9 s, 90% under 8.5 s): a longer piece holds several sentences,
# and the decoder skips or merges some of them. benchmarks/long_audio.py, greedy: dev-real read back to back 27.8%
# WER in 20 s pieces and 12.2% in 8 s pieces against 12.1% clip by clip; the 24 held-out synthetic clips 16.3% and
# 6.6% against 6.6%.
DEFAULT_CHUNK_SECONDS = 8.0
IGNORE_INDEX = -100  # label positions the loss skips (transformers' convention)
