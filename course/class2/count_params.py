# Class 2, exercise 3, as the course writes it, with the changes it needs to run offline marked "tiny-audio:".
# Run from the repository root:
#     .venv/bin/python course/class2/count_params.py [MODEL]
# MODEL: a saved tiny-audio model (directory or Hub id); default: the embedded default model, which works offline.
# The course's mazesmazes/tiny-audio (HuBERT-XLarge + SwiGLU projector + SmolLM3-3B, 4.3B parameters) needs the Hub.
import sys

from tiny_audio import ASRConfig, ASRModel  # tiny-audio: the course has `from src.asr_modeling import ASRModel`
from tiny_audio.evaluation.hub import explain_model_errors

MODEL = sys.argv[1] if len(sys.argv) > 1 else "tiny_audio/default_model"  # tiny-audio: was "mazesmazes/tiny-audio"

print("Loading Tiny Audio model...")
try:
    with explain_model_errors(MODEL):  # tiny-audio: a Hub id this machine cannot get is said in one line
        config = ASRConfig.from_pretrained(MODEL)  # tiny-audio: no trust_remote_code, the classes are imported
        model = ASRModel.from_pretrained(MODEL, config=config)
except OSError as error:
    sys.exit(f"error: {error}")
print("✓ Model loaded!\n")


def count_params(module, name):
    """Count total and trainable parameters in a module."""
    total = sum(p.numel() for p in module.parameters())
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    frozen = total - trainable
    percent = 100 * trainable / total if total > 0 else 0

    print(f"{name}")
    print(f"{'=' * 50}")
    print(f"  Total params:      {total:>15,}")
    print(f"  Trainable params:  {trainable:>15,}")
    print(f"  Frozen params:     {frozen:>15,}")
    print(f"  Trainable:         {percent:>14.2f}%")
    print()


# tiny-audio: the labels are read from the model's config (the course's were HuBERT + LoRA, SwiGLU MLP,
# SmolLM3 + LoRA, which are not the embedded model's parts).
def with_lora(name, lora):
    return f"{name} + LoRA" if lora else name


# Count by component
count_params(model.encoder, f"ENCODER ({with_lora(config.encoder_name_or_path, config.encoder_lora)})")
count_params(model.projector, f"PROJECTOR ({config.projector_type.upper()}, stacks {config.projector_stack} frames)")
count_params(model.decoder, f"DECODER ({with_lora(config.decoder_name_or_path, config.decoder_lora)})")

# Overall
total = sum(p.numel() for p in model.parameters())
trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

print("=" * 50)
print("OVERALL MODEL")
print("=" * 50)
print(f"  Total params:      {total:>15,}")
print(f"  Trainable params:  {trainable:>15,}")
print(f"  Frozen params:     {total - trainable:>15,}")
print(f"  Efficiency:        {100 * trainable / total:>14.2f}%")
print(f"\n✓ We train only {100 * trainable / total:.1f}% of the total parameters!")  # tiny-audio: the course says 3.2%
