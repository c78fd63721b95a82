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
import warnings
from typing import Any

import torch
from safetensors.torch import load_file
from torch import nn
from transformers import AutoModel, AutoModelForCausalLM, GenerationMixin, PreTrainedModel, WhisperFeatureExtractor
from transformers.dynamic_module_utils import custom_object_save
from transformers.utils import cached_file, logging

from .configuration_asr import ASRConfig, audio_layout, count_audio_tokens, count_encoder_frames
from .ctc_head import CTCPrefixScorer, ctc_classes, ctc_logits, hypothesis_log_likelihoods
from .frequency_warp import WARP_FACTOR_RANGE, is_warp_factor, mel_band_centers, warp_frequency
from .pipeline_asr import ASRPipeline
from .projectors import PROJECTORS

WEIGHTS_NAME = "model.safetensors"
HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder", "proxies")
PIPELINE_TASK = "automatic-speech-recognition"
logger = logging.get_logger(__name__)
# Next tokens per hypothesis that CTC prefix scoring weighs each step (the decoder's best); the rest are dropped.
CTC_PREFIX_CANDIDATES = 10


class ASRModel(PreTrainedModel, GenerationMixin):
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
        self.encoder = _load_encoder(config, dtype, hub_kwargs)
        self.decoder = _load_decoder(config, dtype, hub_kwargs)
        # With labels, project onto the vocabulary only where a label is predicted (see `forward`); decoders whose
        # forward takes no `logits_to_keep` project every position. Set False to compare the two.
        self.logits_at_labels_only = "logits_to_keep" in inspect.signature(type(self.decoder).forward).parameters
        self.projector = PROJECTORS[config.projector_type](
            encoder_width=self.encoder.config.hidden_size
            if not _is_whisper(self.encoder)
            else self.encoder.config.d_model,
            decoder_width=self.decoder.config.hidden_size,
            hidden_size=config.projector_hidden_size,
            stack=config.projector_stack,
        )
        self.audio_layout = audio_layout(self.encoder.config, config.projector_stack)
        # Optional store of frozen-encoder outputs, set by training (tiny_audio.training.encoder_cache); not saved.
        self.encoder_cache = None
        self._ctc_classes = None  # the CTC head's class vectors, built on the first generate that uses the head
        self._mel_centers = None  # the log-mel bands' centres in Hz, built on the first generate with frequency_warps
        # Beam search computes each prompt's KV cache once per clip, not once per beam (see `_prompt_cache`).
        self.share_prompt_cache = True
        self.encoder.requires_grad_(False)
        self.decoder.requires_grad_(False)
        for part, lora in (("encoder", config.encoder_lora), ("decoder", config.decoder_lora)):
            if lora is not None:
                setattr(self, part, _add_lora(getattr(self, part), lora))
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
        are deterministic (and cacheable). A backbone with LoRA follows `mode`."""
        super().train(mode)
        for backbone in (self.encoder, self.decoder):
            if not any(p.requires_grad for p in backbone.parameters()):
                backbone.eval()
        return self

    # -- audio -----------------------------------------------------------------------------------------------
    def get_audio_features(
        self, audio: torch.Tensor, audio_attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder + projector. Returns audio embeddings (B, N, D) and a mask (B, N) of the real ones."""
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
        if _is_whisper(self.encoder):
            return _whisper_encode(self.encoder, audio, audio_attention_mask, frame_lengths)
        return self.encoder(audio, attention_mask=audio_attention_mask).last_hidden_state  # (B, T, E)

    def embed_inputs(
        self,
        input_ids: torch.Tensor,
        input_values: torch.Tensor | None = None,
        input_features: torch.Tensor | None = None,
        audio_attention_mask: torch.Tensor | None = None,
        audio_features: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Token embeddings with every audio placeholder replaced by the next audio embedding.

        `audio_features` (embeddings, mask), as `get_audio_features` returns them, replaces the audio inputs when a
        caller has computed them already (training with an auxiliary loss on them)."""
        placeholder_mask = input_ids == self.config.audio_token_id
        # The placeholder id may lie past the decoder's vocabulary: it is never looked up, only overwritten.
        embeds = self.decoder.get_input_embeddings()(input_ids.masked_fill(placeholder_mask, 0))
        if audio_features is None:
            audio_features = self._audio_features_of(input_values, input_features, audio_attention_mask)
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

    def _audio_features_of(
        self,
        input_values: torch.Tensor | None,
        input_features: torch.Tensor | None,
        audio_attention_mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """`get_audio_features` of the audio input given (all of it real when no mask); None without audio."""
        audio = input_values if input_values is not None else input_features
        if audio is None:
            return None
        if audio_attention_mask is None:
            audio_attention_mask = torch.ones((audio.shape[0], audio.shape[-1]), dtype=torch.long, device=audio.device)
        return self.get_audio_features(audio, audio_attention_mask)

    # -- training and generation -----------------------------------------------------------------------------
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
        if inputs_embeds is None:  # given when the caller merged audio and text itself (`embed_inputs`)
            inputs_embeds = self.embed_inputs(input_ids, input_values, input_features, audio_attention_mask)
        position_ids = None
        if attention_mask is not None:  # left padding: count positions from each row's first real token
            position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        if labels is not None and self.logits_at_labels_only:
            # Prompt and audio are most of a sequence and predict no label, yet the vocabulary projection (and its
            # float32 softmax in the loss) is the decoder's widest layer: keep only the positions some row needs.
            # The returned `logits` then hold those positions alone.
            kwargs["shift_labels"], kwargs["logits_to_keep"] = _label_positions(labels)
        return self.decoder(
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            position_ids=position_ids,
            labels=labels,
            **kwargs,
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
        """Returns only the new tokens (B, L'). Audio enters once, in the prompt's embeddings; later steps reuse
        the decoder's KV cache.

        Besides the decoder's `generate()` options, `ctc_rescore_weight` (0 to 1; with num_beams > 1) picks each
        clip's transcript from the final beams by (1 - w) x the beam score + w x the projector CTC head's
        log-likelihood per token (tiny_audio.ctc_head), instead of by the beam score alone. Use it only with a model
        whose projector trained with the CTC loss (`training.ctc_weight` > 0, as in the default recipe): otherwise
        the head is untrained and its scores are noise.

        `frequency_warps` (a list of factors such as [0.9, 1.0, 1.1]; Whisper encoders) encodes each clip once per
        factor, its log-mel frequency axis warped as a shorter (> 1) or longer (< 1) vocal tract would move it, and
        decodes from the warp whose audio the CTC head reads with the most confidence: a test-time vocal tract
        normalisation for voices unlike the training ones. It costs one encoder pass per factor; it too needs a
        CTC-trained projector."""
        options = {**self.config.generation, **generate_kwargs}
        options.pop("labels", None)
        ctc_weight = float(options.pop("ctc_rescore_weight", 0.0) or 0.0)
        if not 0.0 <= ctc_weight <= 1.0:
            raise ValueError(f"ctc_rescore_weight must lie in [0, 1] (0: beam score alone), not {ctc_weight}.")
        warps = options.pop("frequency_warps", None)
        if warps:
            audio_features = self._surest_warp(input_features, audio_attention_mask, warps)
        else:
            audio_features = self._audio_features_of(input_values, input_features, audio_attention_mask)
        inputs_embeds = self.embed_inputs(input_ids, audio_features=audio_features)
        if "pad_token_id" not in options and self.decoder.generation_config.pad_token_id is None:
            options["pad_token_id"] = self.decoder.generation_config.eos_token_id
        prefix_weight = float(options.pop("ctc_decoding_weight", 0.0) or 0.0)
        if not 0.0 <= prefix_weight < 1.0:
            raise ValueError(f"ctc_decoding_weight must lie in [0, 1) (0: the decoder alone), not {prefix_weight}.")
        if prefix_weight > 0 and audio_features is not None:
            options["logits_processor"] = [
                *options.get("logits_processor", []),
                self._ctc_prefix_scorer(audio_features, prefix_weight, options),
            ]
        rescore = ctc_weight > 0 and options.get("num_beams", 1) > 1 and audio_features is not None
        if rescore:
            if options.get("num_return_sequences", 1) != 1:
                raise ValueError(
                    "ctc_rescore_weight returns one transcript per clip; drop num_return_sequences or set "
                    "ctc_rescore_weight=0 to get the beams themselves."
                )
            options.update(num_return_sequences=options["num_beams"], output_scores=True, return_dict_in_generate=True)
        beams = options.get("num_beams", 1)
        # transformers 5.24 renamed the decoder's `past_key_values` argument to `cache` (the old name still warns).
        decoder_arguments = inspect.signature(type(self.decoder).forward).parameters
        cache_argument = "cache" if "cache" in decoder_arguments else "past_key_values"
        if beams > 1 and cache_argument not in options and inputs_embeds.shape[1] > 1 and self.share_prompt_cache:
            options[cache_argument] = self._prompt_cache(inputs_embeds, attention_mask, beams, cache_argument)
        with warnings.catch_warnings():
            # An n-gram guard (no_repeat_ngram_size) sees only the transcript, never the prompt, which is what we
            # want; transformers warns about exactly that on every call.
            warnings.filterwarnings("ignore", message="Passing `no_repeat_ngram_size` with `inputs_embeds`")
            output = self.decoder.generate(inputs_embeds=inputs_embeds, attention_mask=attention_mask, **options)
        if not rescore:
            return output
        generation_config = self.decoder.generation_config
        ends = {
            *_as_list(options.get("eos_token_id", generation_config.eos_token_id)),
            *_as_list(options.get("pad_token_id", generation_config.pad_token_id)),
        }
        return self._pick_by_ctc(output.sequences, output.sequences_scores, audio_features, ctc_weight, ends)

    def _surest_warp(
        self, input_features: torch.Tensor | None, audio_attention_mask: torch.Tensor | None, warps: list[float]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Audio embeddings of each clip at the warp factor whose CTC best path is likeliest per audio token."""
        if input_features is None or not _is_whisper(self.encoder):
            raise ValueError("frequency_warps needs a Whisper encoder (log-mel input_features); drop it for this one.")
        factors = [float(factor) for factor in warps]
        if not all(map(is_warp_factor, factors)):
            low, high = WARP_FACTOR_RANGE
            raise ValueError(f"frequency_warps must be factors between {low} and {high} (1.0: unchanged), not {warps}.")
        if audio_attention_mask is None:
            frames = (input_features.shape[0], input_features.shape[-1])
            audio_attention_mask = torch.ones(frames, dtype=torch.long, device=input_features.device)
        centers = self._mel_band_centers()
        classes = self._ctc_head_classes(input_features.device)
        best_embeds, best_confidence, token_mask = None, None, None
        for factor in factors:
            features = input_features if factor == 1.0 else warp_frequency(input_features, centers, factor)
            audio_embeds, token_mask = self.get_audio_features(features, audio_attention_mask)
            best_path = ctc_logits(audio_embeds, classes).log_softmax(-1).amax(-1)  # (B, N)
            confidence = (best_path * token_mask).sum(-1) / token_mask.sum(-1).clamp(min=1)
            if best_embeds is None:
                best_embeds, best_confidence = audio_embeds, confidence
                continue
            surer = confidence > best_confidence
            best_embeds = torch.where(surer[:, None, None], audio_embeds, best_embeds)
            best_confidence = torch.maximum(confidence, best_confidence)
        return best_embeds, token_mask

    def _mel_band_centers(self):
        if self._mel_centers is None:  # the feature extractor's filter bank, rebuilt from the encoder's band count
            extractor = WhisperFeatureExtractor(feature_size=self.encoder.config.num_mel_bins)
            self._mel_centers = mel_band_centers(extractor.mel_filters, extractor.sampling_rate)
        return self._mel_centers

    def _prompt_cache(
        self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor | None, copies: int, cache_argument: str
    ):
        """The decoder's KV cache of each prompt but its last position, computed once per clip and copied for each
        beam. transformers' beam search would run the prompt (mostly audio) through the decoder once per beam, and
        that prefill was most of the decoding time on a CPU."""
        prefix_mask = attention_mask[:, :-1] if attention_mask is not None else None
        position_ids = None if prefix_mask is None else (prefix_mask.long().cumsum(-1) - 1).clamp(min=0)
        cache = self.decoder(
            inputs_embeds=inputs_embeds[:, :-1],
            attention_mask=prefix_mask,
            position_ids=position_ids,
            use_cache=True,
            logits_to_keep=1,
        )[cache_argument]
        cache.batch_repeat_interleave(copies)  # clip-major, as generate() orders the beams
        return cache

    def _ctc_prefix_scorer(
        self, audio_features: tuple[torch.Tensor, torch.Tensor], weight: float, options: dict
    ) -> CTCPrefixScorer:
        audio_embeds, token_mask = audio_features
        beams = options.get("num_beams", 1)
        ends = _as_list(options.get("eos_token_id", self.decoder.generation_config.eos_token_id))
        return CTCPrefixScorer(
            audio_embeds,
            token_mask,
            self._ctc_head_classes(audio_embeds.device),
            weight,
            end_token_ids=ends,
            pad_token_id=options.get("pad_token_id", self.decoder.generation_config.pad_token_id),
            hypotheses_per_clip=beams,
            candidates=max(CTC_PREFIX_CANDIDATES, 2 * beams),  # beam search keeps 2 x beams continuations a step
        )

    def _ctc_head_classes(self, device: torch.device) -> torch.Tensor:
        if self._ctc_classes is None or self._ctc_classes.device != device:
            self._ctc_classes = ctc_classes(self.get_input_embeddings().weight).to(device)  # never trained: build once
        return self._ctc_classes

    def _pick_by_ctc(
        self,
        sequences: torch.Tensor,
        beam_scores: torch.Tensor,
        audio_features: tuple[torch.Tensor, torch.Tensor],
        ctc_weight: float,
        ends: set[int],
    ) -> torch.Tensor:
        """Each clip's best beam by (1 - w) x beam score + w x CTC log-likelihood per token. `sequences` (B x K, L)
        holds each clip's K beams in a row, `beam_scores` their length-normalised log-probabilities; a row's
        transcript ends at its first token in `ends` (end of turn, padding)."""
        audio_embeds, token_mask = audio_features
        batch, beams = audio_embeds.shape[0], sequences.shape[0] // audio_embeds.shape[0]
        classes = self._ctc_head_classes(audio_embeds.device)
        chosen = []
        for clip in range(batch):
            rows = sequences[clip * beams : (clip + 1) * beams]
            hypotheses = [_until_end(row.tolist(), ends) for row in rows]
            # One clip at a time: (N, 1 + V) log-probabilities are ~200 kB per audio token with SmolLM2's vocabulary.
            real = ctc_logits(audio_embeds[clip, token_mask[clip]], classes).log_softmax(-1)
            lengths = torch.tensor([max(len(tokens), 1) for tokens in hypotheses], device=real.device)
            ctc = hypothesis_log_likelihoods(real, hypotheses) / lengths
            combined = (1 - ctc_weight) * beam_scores[clip * beams : (clip + 1) * beams].float() + ctc_weight * ctc
            chosen.append(rows[int(combined.argmax())])  # all -inf (every beam too long for the audio): the top beam
        return torch.stack(chosen)

    def get_input_embeddings(self) -> nn.Module:
        return self.decoder.get_input_embeddings()

    # -- saving and loading ----------------------------------------------------------------------------------
    def trained_state_dict(self) -> dict[str, torch.Tensor]:
        """What training changed: the projector and any LoRA weights. Everything else is in the backbones."""
        return {name: tensor for name, tensor in self.state_dict().items() if _is_trained(name)}

    def save_pretrained(self, save_directory: str | os.PathLike, self_contained: bool = False, **kwargs) -> None:
        """Save config, weights and the remote code (model, processor and pipeline files).

        By default only the trained weights are written and the backbones stay referenced by id or path; with
        `self_contained=True` every weight is written and the backbones' configs are stored inline.
        """
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
                self.config.encoder_config = _inline(self.encoder.config)
                self.config.decoder_config = _inline(self.decoder.config)
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
        backbone_hub_kwargs = {k: v for k, v in hub_kwargs.items() if k not in ("revision", "subfolder")}
        model = cls(config, dtype=dtype, **backbone_hub_kwargs)
        weights = load_file(cached_file(pretrained_model_name_or_path, WEIGHTS_NAME, **hub_kwargs))
        model.load_saved_weights(weights, self_contained=config.encoder_config is not None)
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


def _as_list(ids: int | list[int] | None) -> list[int]:
    return [] if ids is None else [ids] if isinstance(ids, int) else list(ids)


def _until_end(tokens: list[int], ends: set[int]) -> list[int]:
    """A generated row's tokens before its first end-of-sequence (or padding) token."""
    for position, token in enumerate(tokens):
        if token in ends:
            return tokens[:position]
    return tokens


def _is_whisper(encoder: nn.Module) -> bool:
    return encoder.config.model_type == "whisper"


def _label_positions(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The labels (B, K) predicted at the K positions whose next token is a label in some row, and those positions:
    the causal LM loss given them as `shift_labels` and `logits_to_keep` equals its loss over every position."""
    next_labels = nn.functional.pad(labels[:, 1:], (0, 1), value=-100)
    kept = (next_labels != -100).any(0).nonzero().squeeze(-1)
    return next_labels[:, kept], kept


def _is_trained(name: str) -> bool:
    return name.startswith("projector.") or "lora_" in name


def _tied_to_saved(model: ASRModel, name: str, weights: dict[str, torch.Tensor]) -> bool:
    """True when `name` shares storage with a tensor that the checkpoint holds (e.g. a tied lm_head)."""
    tensors = model.state_dict()
    return any(tensors[name].data_ptr() == tensors[other].data_ptr() for other in weights if other in tensors)


def _inline(config) -> dict[str, Any]:
    inline = config.to_dict()
    for key in ("_name_or_path", "transformers_version", "architectures", "auto_map"):
        inline.pop(key, None)
    return inline


def _load_encoder(config: ASRConfig, dtype, hub_kwargs: dict) -> nn.Module:
    """The audio encoder module itself: HubertModel / Wav2Vec2Model, or a Whisper model's WhisperEncoder."""
    if config.encoder_config is not None:
        encoder_config = config.resolved_encoder_config()
        model = AutoModel.from_config(encoder_config, dtype=_concrete(dtype))
    else:
        config.resolved_encoder_config(**hub_kwargs)  # validates the encoder type before loading weights
        model = AutoModel.from_pretrained(config.encoder_name_or_path, dtype=dtype, **hub_kwargs)
    return model.get_encoder() if model.config.model_type == "whisper" else model


def _load_decoder(config: ASRConfig, dtype, hub_kwargs: dict) -> nn.Module:
    if config.decoder_config is not None:
        return AutoModelForCausalLM.from_config(config.resolved_decoder_config(), dtype=_concrete(dtype))
    return AutoModelForCausalLM.from_pretrained(config.decoder_name_or_path, dtype=dtype, **hub_kwargs)


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


def _add_lora(module: nn.Module, lora: dict) -> nn.Module:
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


def _whisper_encode(
    encoder: nn.Module, input_features: torch.Tensor, mel_mask: torch.Tensor, frame_lengths: torch.Tensor
) -> torch.Tensor:
    """Whisper's encoder on a clip's own length instead of 30 s of padding.

    transformers' WhisperEncoder.forward insists on exactly 3000 mel frames (transformers 5.x), so a 3 s clip would
    pay for 30 s of attention. The encoder's parts are run here in the same order, with the position table cut to
    the clip and padded frames masked out of attention, so a clip encodes the same alone or in a batch.
    """
    hidden_states = nn.functional.gelu(encoder.conv1(input_features))  # (B, E, F)
    # Zero past each clip's end, as conv2's own padding would be for the clip alone.
    hidden_states = hidden_states * mel_mask[:, None, :].to(hidden_states.dtype)
    hidden_states = nn.functional.gelu(encoder.conv2(hidden_states)).transpose(1, 2)  # (B, T, E)
    frames = hidden_states.shape[1]
    if frames > encoder.embed_positions.num_embeddings:
        raise ValueError(f"Audio gives {frames} Whisper frames; the encoder takes at most 30 s (1500 frames).")
    hidden_states = hidden_states + encoder.embed_positions.weight[:frames]
    hidden_states = nn.functional.dropout(hidden_states, p=encoder.dropout, training=encoder.training)
    padded = torch.arange(frames, device=hidden_states.device)[None] >= frame_lengths[:, None]  # (B, T)
    attention_mask = None
    if padded.any():
        attention_mask = torch.zeros(padded.shape, dtype=hidden_states.dtype, device=hidden_states.device)
        attention_mask = attention_mask.masked_fill(padded, torch.finfo(hidden_states.dtype).min)[:, None, None, :]
    for layer in encoder.layers:
        hidden_states = layer(hidden_states, attention_mask)
    return encoder.layer_norm(hidden_states)


ASRModel.register_for_auto_class("AutoModel")
