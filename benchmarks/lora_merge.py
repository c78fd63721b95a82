"""What folding the decoder's LoRA into its weights saves when decoding, measured both ways in one run.

    python benchmarks/lora_merge.py [--model DIR] [--tokens 30]

Times the embedded model's decoder (or DIR's) writing one token at a time after a 100-token prompt, with the adapters
beside their base weights (as training runs them) and folded into them (as `generate` runs them), and prints the
milliseconds per token and the ratio. The logits of the two are compared too: in bf16 they round differently.
"""

from __future__ import annotations

import argparse
import time

import torch
from transformers import AutoModel, DynamicCache

from tiny_audio.app.transcribe import default_model
from tiny_audio.model.backbone_loading import merge_lora, unmerge_lora


def ms_per_token(decoder: torch.nn.Module, tokens: int) -> tuple[float, torch.Tensor]:
    """Milliseconds per single-token forward pass after a 100-token prompt, and the last logits."""
    prompt = torch.randint(0, 1000, (1, 100), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = decoder(input_ids=prompt, past_key_values=DynamicCache(), use_cache=True)
        start = time.perf_counter()
        for step in range(tokens):
            out = decoder(input_ids=prompt[:, step : step + 1], past_key_values=out.past_key_values, use_cache=True)
        return 1000 * (time.perf_counter() - start) / tokens, out.logits[0, -1].float()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="saved model directory (default: the embedded default model)")
    parser.add_argument("--tokens", type=int, default=30, help="tokens timed each way")
    args = parser.parse_args()
    model = AutoModel.from_pretrained(str(args.model or default_model()), trust_remote_code=True).eval()
    originals: dict[str, torch.Tensor] = {}
    ms_per_token(model.decoder, 3)  # warm-up
    apart, apart_logits = ms_per_token(model.decoder, args.tokens)
    merge_lora(model, originals)
    if not originals:
        raise SystemExit("this model has no LoRA adapters to merge")
    merged, merged_logits = ms_per_token(model.decoder, args.tokens)
    matrices = len(originals)
    unmerge_lora(model, originals)
    dtype = next(model.decoder.parameters()).dtype
    print(f"{torch.get_num_threads()} threads, decoder in {dtype}, {matrices} adapted matrices")
    ratio = apart / merged
    print(f"adapters beside the weights: {apart:.1f} ms/token; folded in: {merged:.1f} ms/token ({ratio:.2f}x)")
    print(f"largest logit difference: {(apart_logits - merged_logits).abs().max():.3f}")


if __name__ == "__main__":
    main()
