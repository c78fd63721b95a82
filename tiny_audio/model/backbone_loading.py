"""Building an ASRModel's backbones: the pretrained encoder and decoder, from a Hub id / path or from an inline
config (a self-contained save), in the dtype asked for, with LoRA adapters where the config has them.

Hub remote code: imports only torch, transformers, peft (only when LoRA is configured) and sibling modules.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import AutoModel, AutoModelForCausalLM

from .configuration_asr import ASRConfig


def load_encoder(config: ASRConfig, dtype, hub_kwargs: dict) -> nn.Module:
    """The audio encoder module itself: HubertModel / Wav2Vec2Model, or a Whisper model's WhisperEncoder."""
    if config.encoder_config is not None:
        model = AutoModel.from_config(config.resolved_encoder_config(), dtype=_concrete(dtype))
    else:
        config.resolved_encoder_config(**hub_kwargs)  # validates the encoder type before loading weights
        model = AutoModel.from_pretrained(config.encoder_name_or_path, dtype=dtype, **hub_kwargs)
    return model.get_encoder() if model.config.model_type == "whisper" else model


def load_decoder(config: ASRConfig, dtype, hub_kwargs: dict) -> nn.Module:
    if config.decoder_config is not None:
        return AutoModelForCausalLM.from_config(config.resolved_decoder_config(), dtype=_concrete(dtype))
    return AutoModelForCausalLM.from_pretrained(config.decoder_name_or_path, dtype=dtype, **hub_kwargs)


def add_lora(module: nn.Module, lora: dict) -> nn.Module:
    """`module` with LoRA adapters on `lora["target_modules"]`; only the adapters train."""
    try:
        from peft import LoraConfig, inject_adapter_in_model
    except ImportError as error:
        raise ImportError("This model uses LoRA; install peft: pip install peft") from error
    lora_config = LoraConfig(
        r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"], target_modules=lora["target_modules"]
    )
    module = inject_adapter_in_model(lora_config, module)
    for name, parameter in module.named_parameters():
        parameter.requires_grad_("lora_" in name)
    return module


def merge_lora(module: nn.Module, originals: dict[str, torch.Tensor]) -> None:
    """Fold every LoRA adapter of `module` into its base weight, for decoding: one matrix product per layer instead
    of three (SmolLM2-135M on the 2-core CPU: 57 -> 47 ms a token). The base weights are kept in `originals`, so that
    `unmerge_lora` puts them back bit for bit (in bf16, subtracting the update again would not)."""
    if originals:  # already merged by an earlier call: generate() runs this on every batch
        return
    for name, layer in _lora_layers(module):
        weight = layer.get_base_layer().weight
        if layer.merged or type(weight.data) is not torch.Tensor:  # a sharded (FSDP) or quantized weight: leave it
            continue
        originals[name] = weight.detach().clone()
        layer.merge()


def unmerge_lora(module: nn.Module, originals: dict[str, torch.Tensor]) -> None:
    """Undo `merge_lora`: the adapters run beside their exact original base weights again (before training)."""
    if not originals:  # nothing merged: model.train() runs this on every training step
        return
    for name, layer in _lora_layers(module):
        if name in originals:
            layer.unmerge()
            layer.get_base_layer().weight.data.copy_(originals.pop(name))


def _lora_layers(module: nn.Module):
    if not any("lora_" in name for name, _ in module.named_parameters()):
        return []  # no adapters: peft need not be installed
    from peft.tuners.lora import LoraLayer

    return [(name, layer) for name, layer in module.named_modules() if isinstance(layer, LoraLayer)]


def inline_config(config) -> dict[str, Any]:
    """A backbone's config as a dict to store inside ASRConfig (a self-contained save)."""
    inline = config.to_dict()
    for key in ("_name_or_path", "transformers_version", "architectures", "auto_map"):
        inline.pop(key, None)
    return inline


def cpu_lacks_fast_half_precision(device_map) -> bool:
    """Whether a model loaded with this `device_map` will compute on a CPU that lacks fast bf16 matrix products.
    With no device_map, a machine with CUDA is assumed to move the model there (as `pipeline(device=0)` does)."""
    on_cpu = str(device_map) == "cpu" or (device_map is None and not torch.cuda.is_available())
    try:
        native_bf16 = torch.ops.mkldnn._is_mkldnn_bf16_supported()  # oneDNN's check of the CPU's bf16 instructions
    except (AttributeError, RuntimeError):  # a torch build without oneDNN: keep the checkpoints' dtype, as before
        return False
    return on_cpu and not native_bf16


def _concrete(dtype):
    """`from_config` needs a real dtype; "auto" (read it from the checkpoint) means the default here."""
    return None if dtype == "auto" else dtype
