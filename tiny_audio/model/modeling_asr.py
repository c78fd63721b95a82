"""ASRModel: pretrained audio encoder → trained projector → pretrained causal LM decoder.

The decoder sees the chat prompt's token embeddings with the audio placeholders replaced, in order, by the
projector's outputs (`masked_scatter`), and computes the loss itself (labels are -100 outside the transcript).

Hub remote code: imports only transformers, torch, safetensors (a transformers dependency), peft (only when LoRA is
configured) and sibling modules. Nothing runs at import but `register_for_auto_class`.
"""

from __future__ import annotations

import copy
import inspect
import os
from dataclasses import dataclass

import torch
from safetensors.torch import load_file
from torch import nn
from transformers import PreTrainedModel
from transformers.dynamic_module_utils import custom_object_save
from transformers.modeling_outputs import CausalLMOutputWithPast
from transformers.utils import cached_file, logging

from .backbone_loading import (
    add_lora,
    cpu_lacks_fast_half_precision,
    inline_config,
    load_decoder,
    load_encoder,
    merge_lora,
    unmerge_lora,
)
from .configuration_asr import ASRConfig, audio_layout, count_audio_tokens, count_encoder_frames
from .constants import IGNORE_INDEX
from .ctc_head import ProjectorCTCLoss, ctc_classes
from .decoding import decode
from .pipeline_asr import ASRPipeline
from .projectors import PROJECTORS
from .whisper_encoder import whisper_encode

WEIGHTS_NAME = "model.safetensors"
HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder", "proxies")
PIPELINE_TASK = "automatic-speech-recognition"
logger = logging.get_logger(__name__)


@dataclass
class ASRModelOutput(CausalLMOutputWithPast):
    """The decoder's output, plus the projector's CTC loss alone when training with it (`use_ctc_loss`)."""

    ctc_loss: torch.FloatTensor | None = None


class ASRModel(PreTrainedModel):
    """Encoder → projector → decoder. Decoding defaults have one home, `config.generation` (config.json): the
    search is our own `generate` (decoding.py), so the model has no transformers `generation_config` and saves no
    generation_config.json (one that nothing read once let `model.generation_config.num_beams = 4` do nothing)."""

    config_class = ASRConfig
    base_model_prefix = "asr"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _supports_sdpa = True

    def __init__(self, config: ASRConfig, dtype: torch.dtype | str | None = None, **hub_kwargs):
        super().__init__(config)
        if config.audio_token_id is None:
            raise ValueError(
                "config.audio_token_id is not set; build the processor first: ASRProcessor.from_config(config)."
            )
        self.encoder = load_encoder(config, dtype, hub_kwargs)
        self.decoder = load_decoder(config, dtype, hub_kwargs)
        self.projector = PROJECTORS[config.projector_type](
            encoder_width=self.encoder.config.hidden_size
            if self.encoder.config.model_type != "whisper"
            else self.encoder.config.d_model,
            decoder_width=self.decoder.config.hidden_size,
            hidden_size=config.projector_hidden_size,
            stack=config.projector_stack,
        )
        self.audio_layout = audio_layout(self.encoder.config, config.projector_stack)
        # Optional store of frozen-encoder outputs, set by training (tiny_audio.training.encoder_cache); not saved.
        self.encoder_cache = None
        # The projector's CTC loss, an opt-in auxiliary training loss (`use_ctc_loss`); not part of the architecture.
        self.ctc_loss: ProjectorCTCLoss | None = None
        self.ctc_loss_weight, self.ctc_loss_only = 0.0, False
        self._ctc_classes = None  # the CTC head's class vectors, built when first needed (the table is frozen)
        self.encoder.requires_grad_(False)
        self.decoder.requires_grad_(False)
        for part, lora in (("encoder", config.encoder_lora), ("decoder", config.decoder_lora)):
            if lora is not None:
                setattr(self, part, add_lora(getattr(self, part), lora))
        self._unmerged_weights: dict[str, torch.Tensor] = {}  # base weights under merged LoRA (`generate`)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        """Only the projector is new; the backbones arrive initialised (pretrained, or loaded right after)."""
        if isinstance(module, nn.Linear) and any(module is m for m in self.projector.modules()):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)

    def init_weights(self) -> None:
        for module in self.projector.modules():
            self._init_weights(module)
        # Audio embeddings start at the scale of the decoder's own token embeddings (their RMS per element).
        embedding_rms = self.decoder.get_input_embeddings().weight.detach().float().pow(2).mean().sqrt()
        with torch.no_grad():
            self.projector.output_norm.weight.fill_(float(embedding_rms))

    def train(self, mode: bool = True) -> ASRModel:
        """A frozen backbone stays in eval mode: no dropout or SpecAugment on weights nobody trains, so its outputs
        are deterministic (and cacheable). A backbone with LoRA follows `mode`; its adapters, merged into the
        weights for decoding, are taken out again before training."""
        if mode:
            unmerge_lora(self, self._unmerged_weights)
        super().train(mode)
        for backbone in (self.encoder, self.decoder):
            if not any(p.requires_grad for p in backbone.parameters()):
                backbone.eval()
        return self

    # -- audio -----------------------------------------------------------------------------------------------
    def get_audio_features(
        self, audio: torch.Tensor, audio_attention_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder + projector. Returns audio embeddings (B, N, D) and a mask (B, N) of the real ones. `audio` is
        `input_values` (B, S) or `input_features` (B, M, F); without a mask all of it is real."""
        if audio_attention_mask is None:
            audio_attention_mask = torch.ones(audio.shape[0], audio.shape[-1], dtype=torch.long, device=audio.device)
        frame_lengths = count_encoder_frames(audio_attention_mask.sum(-1), self.audio_layout)  # (B,)
        encoder_trainable = any(p.requires_grad for p in self.encoder.parameters())
        audio = audio.to(self.encoder.dtype)
        with torch.set_grad_enabled(torch.is_grad_enabled() and encoder_trainable):
            if self.encoder_cache is not None and not encoder_trainable:
                hidden_states = self.encoder_cache.encode(audio, audio_attention_mask, frame_lengths, self._encode)
            else:
                hidden_states = self._encode(audio, audio_attention_mask, frame_lengths)
        frame_mask = torch.arange(hidden_states.shape[1], device=hidden_states.device)[None] < frame_lengths[:, None]
        hidden_states = hidden_states * frame_mask[..., None]  # padded frames must not leak into the last stack
        projector_dtype = next(self.projector.parameters()).dtype
        audio_embeds = self.projector(hidden_states.to(projector_dtype))  # (B, N, D)
        token_lengths = count_audio_tokens(audio_attention_mask.sum(-1), self.audio_layout)  # as the processor counts
        token_mask = torch.arange(audio_embeds.shape[1], device=audio_embeds.device)[None] < token_lengths[:, None]
        return audio_embeds, token_mask

    def _encode(self, audio: torch.Tensor, audio_attention_mask: torch.Tensor, frame_lengths: torch.Tensor):
        if self.encoder.config.model_type == "whisper":
            return whisper_encode(self.encoder, audio, audio_attention_mask, frame_lengths)
        return self.encoder(audio, attention_mask=audio_attention_mask).last_hidden_state  # (B, T, E)

    def embed_inputs(
        self, input_ids: torch.Tensor, audio_features: tuple[torch.Tensor, torch.Tensor] | None
    ) -> torch.Tensor:
        """Token embeddings with every audio placeholder replaced by the next real audio embedding;
        `audio_features` (embeddings, mask) as `get_audio_features` returns them, or None for text alone."""
        placeholder_mask = input_ids == self.config.audio_token_id
        # The placeholder id may lie past the decoder's vocabulary: it is never looked up, only overwritten.
        embeds = self.decoder.get_input_embeddings()(input_ids.masked_fill(placeholder_mask, 0))
        if audio_features is None:
            if placeholder_mask.any():
                raise ValueError("input_ids contain audio placeholders but no audio (input_values/input_features).")
            return embeds
        audio_embeds, token_mask = audio_features
        real_audio = audio_embeds[token_mask]  # (total tokens, D), clip by clip in order
        placeholders = int(placeholder_mask.sum())
        if placeholders != real_audio.shape[0]:
            raise ValueError(
                f"The prompt has {placeholders} audio placeholder tokens but the audio gives {real_audio.shape[0]} "
                "embeddings; build inputs with ASRProcessor so the counts match the clip lengths."
            )
        return embeds.masked_scatter(placeholder_mask[..., None], real_audio.to(embeds.dtype))

    def ctc_head_classes(self) -> torch.Tensor:
        """The projector's CTC classes (1 + V, D): a fixed blank, then the decoder's token embeddings (ctc_head)."""
        table = self.get_input_embeddings().weight
        if self._ctc_classes is None or self._ctc_classes.device != table.device:
            self._ctc_classes = ctc_classes(table)  # the embedding table is frozen: build once
        return self._ctc_classes

    # -- training and generation -----------------------------------------------------------------------------
    def use_ctc_loss(self, weight: float, end_token_id: int | None, negatives: int | None = 4096) -> None:
        """Opt in to the projector's CTC loss (ctc_head.py) as an auxiliary loss: in training mode, a forward
        with labels returns loss = decoder loss + `weight` x CTC loss, and `ctc_loss` on its own. With
        `ctc_loss_only` set, the decoder does not run and the loss is the CTC loss alone. `weight=0` turns it off."""
        if not weight >= 0:
            raise ValueError(f"The CTC loss weight must be 0 or more, not {weight}.")
        self.ctc_loss_weight = float(weight)
        self.ctc_loss = ProjectorCTCLoss(self.ctc_head_classes(), end_token_id, negatives) if weight else None

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        input_values: torch.Tensor | None = None,
        input_features: torch.Tensor | None = None,
        audio_attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        **kwargs,
    ):
        ctc_loss = None
        if inputs_embeds is None:  # given when the caller merged audio and text itself (`embed_inputs`)
            audio = input_values if input_values is not None else input_features
            audio_features = None if audio is None else self.get_audio_features(audio, audio_attention_mask)
            if self.ctc_loss is not None and self.training and labels is not None and audio_features is not None:
                ctc_loss = self.ctc_loss(*audio_features, labels)
                if self.ctc_loss_only:
                    return ASRModelOutput(loss=ctc_loss, ctc_loss=ctc_loss.detach())
            inputs_embeds = self.embed_inputs(input_ids, audio_features=audio_features)
        position_ids = None
        if attention_mask is not None:  # left padding: count positions from each row's first real token
            position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        if labels is not None:  # a loss pass needs no KV cache; FSDP's activation checkpointing would fill it twice
            kwargs.setdefault("use_cache", False)
        if labels is not None and "logits_to_keep" in inspect.signature(type(self.decoder).forward).parameters:
            # Prompt and audio are most of a sequence and predict no label, yet the vocabulary projection (and its
            # float32 softmax in the loss) is the decoder's widest layer: keep only the positions some row needs
            # (1.33x faster training steps on the default recipe). The returned `logits` hold those positions alone.
            kwargs["shift_labels"], kwargs["logits_to_keep"] = _label_positions(labels)
        outputs = self.decoder(
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            position_ids=position_ids,
            labels=labels,
            **kwargs,
        )
        if ctc_loss is None:
            return outputs
        return ASRModelOutput(
            **{**outputs, "loss": outputs.loss + self.ctc_loss_weight * ctc_loss}, ctc_loss=ctc_loss.detach()
        )

    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        input_values: torch.Tensor | None = None,
        input_features: torch.Tensor | None = None,
        audio_attention_mask: torch.Tensor | None = None,
        **generate_kwargs,
    ) -> torch.Tensor:
        """The new tokens (B, L') of each prompt. Options: `DecodingOptions` fields (defaults from
        `config.generation`) and any other transformers `generate()` option."""
        audio = input_values if input_values is not None else input_features
        if not self.training:  # LoRA folded into its weights until training starts (`train`)
            merge_lora(self, self._unmerged_weights)
        return decode(self, input_ids, attention_mask, audio, audio_attention_mask, generate_kwargs)

    def get_input_embeddings(self) -> nn.Module:
        return self.decoder.get_input_embeddings()

    def get_output_embeddings(self) -> nn.Module | None:
        return self.decoder.get_output_embeddings()  # FSDP2 (accelerate 1.16) shards a tied lm_head with its embeddings

    # -- saving and loading ----------------------------------------------------------------------------------
    def trained_state_dict(self) -> dict[str, torch.Tensor]:
        """What training changed: the projector and any LoRA weights. Everything else is in the backbones."""
        return {name: tensor for name, tensor in self.state_dict().items() if _is_trained(name)}

    def save_pretrained(self, save_directory: str | os.PathLike, self_contained: bool = False, **kwargs) -> None:
        """Save config, weights and the remote code (model, processor and pipeline files).

        By default only the trained weights are written and the backbones stay referenced by id or path; with
        `self_contained=True` every weight is written and the backbones' configs are stored inline.
        """
        unmerge_lora(self, self._unmerged_weights)  # a self-contained save writes the backbones' own weights
        state_dict = kwargs.pop("state_dict", None) or self.state_dict()
        if not self_contained:
            state_dict = {name: tensor for name, tensor in state_dict.items() if _is_trained(name)}
        saved_config = self.config
        self.config = copy.deepcopy(saved_config)
        try:
            self.config.custom_pipelines = {
                PIPELINE_TASK: {"impl": "pipeline_asr.ASRPipeline", "pt": ["AutoModel"], "tf": [], "type": "audio"}
            }
            if self_contained:
                self.config.encoder_config = inline_config(self.encoder.config)
                self.config.decoder_config = inline_config(self.decoder.config)
            super().save_pretrained(save_directory, state_dict=state_dict, **kwargs)
        finally:
            self.config = saved_config
        custom_object_save(ASRPipeline, save_directory)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *model_args, **kwargs) -> ASRModel:
        """Rebuild the model from its config (backbones by id/path, or inline when self-contained), then load the
        saved weights. Accepts the usual Hub arguments (revision, token, cache_dir, ...) and dtype / device_map."""
        hub_kwargs = {key: kwargs.pop(key) for key in HUB_KWARGS if key in kwargs}
        config = kwargs.pop("config", None)
        dtype = kwargs.pop("dtype", kwargs.pop("torch_dtype", None))
        device_map = kwargs.pop("device_map", None)
        if dtype in (None, "auto") and cpu_lacks_fast_half_precision(device_map):  # pipeline() passes "auto"
            # The backbones' checkpoints may be bf16 (SmolLM2's is): torch 2.13 multiplies bf16 matrices ~300x more
            # slowly than float32 on a CPU without native bf16 (AVX2 only): beam search ran 3.6x slower in bf16 here.
            logger.info("This CPU has no fast bfloat16 matrix products: loading the backbones in float32.")
            dtype = torch.float32
        if not isinstance(config, ASRConfig):
            config = ASRConfig.from_pretrained(pretrained_model_name_or_path, **hub_kwargs)
        weights_file = cached_file(
            pretrained_model_name_or_path, WEIGHTS_NAME, _raise_exceptions_for_missing_entries=False, **hub_kwargs
        )
        if weights_file is None:  # e.g. only a pickled pytorch_model.bin, which is never unpickled here
            raise ValueError(
                f"{pretrained_model_name_or_path} has no {WEIGHTS_NAME}; tiny-audio loads safetensors weights only "
                "(a pickled pytorch_model.bin is never loaded: unpickling can run code)."
            )
        backbone_hub_kwargs = {k: v for k, v in hub_kwargs.items() if k not in ("revision", "subfolder")}
        model = cls(config, dtype=dtype, **backbone_hub_kwargs)
        model.load_saved_weights(load_file(weights_file), self_contained=config.encoder_config is not None)
        if isinstance(device_map, (str, torch.device)) and device_map != "auto":
            model.to(device_map)
        elif device_map == "auto" and torch.cuda.is_available():
            model.to("cuda")
        return model.eval()

    def load_saved_weights(self, weights: dict[str, torch.Tensor], self_contained: bool) -> None:
        expected = set(self.state_dict()) if self_contained else set(self.trained_state_dict())
        tied = {name for name in expected if name not in weights and _tied_to_saved(self, name, weights)}
        missing, unexpected = expected - set(weights) - tied, set(weights) - expected
        if missing or unexpected:
            raise ValueError(
                f"Checkpoint does not match the model: {len(missing)} missing (e.g. {sorted(missing)[:5]}), "
                f"{len(unexpected)} unexpected (e.g. {sorted(unexpected)[:5]})."
            )
        own = self.state_dict()
        reshaped = [
            f"{n} {list(w.shape)} vs {list(own[n].shape)}" for n, w in weights.items() if w.shape != own[n].shape
        ]
        if reshaped:
            raise ValueError(
                f"Checkpoint does not match the model: {len(reshaped)} tensors have another shape (saved vs model: "
                f"{'; '.join(reshaped[:3])}). Was it trained with another encoder, decoder or projector?"
            )
        self.load_state_dict(weights, strict=False)
        if tied:
            self.decoder.tie_weights()


def _label_positions(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The labels (B, K) predicted at the K positions whose next token is a label in some row, and those positions:
    the causal LM loss given them as `shift_labels` and `logits_to_keep` equals its loss over every position."""
    next_labels = nn.functional.pad(labels[:, 1:], (0, 1), value=IGNORE_INDEX)
    kept = (next_labels != IGNORE_INDEX).any(0).nonzero().squeeze(-1)
    return next_labels[:, kept], kept


def _is_trained(name: str) -> bool:
    return name.startswith("projector.") or "lora_" in name


def _tied_to_saved(model: ASRModel, name: str, weights: dict[str, torch.Tensor]) -> bool:
    """True when `name` shares storage with a tensor that the checkpoint holds (e.g. a tied lm_head)."""
    tensors = model.state_dict()
    return any(tensors[name].data_ptr() == tensors[other].data_ptr() for other in weights if other in tensors)


ASRModel.register_for_auto_class("AutoModel")
