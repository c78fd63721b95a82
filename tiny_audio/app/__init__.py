"""The command-line application: transcribe, batch transcription, the browser demo, doctor and the course helpers."""
