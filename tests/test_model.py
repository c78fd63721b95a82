"""ASRModel behaviour: loss and gradients, learning, generation, batching, placeholder alignment."""

from __future__ import annotations

import inspect

import pytest
import tiny_backbones
import torch
from conftest import LORA, TARGETS
from transformers import DynamicCache

from tiny_audio import ASRModel

PAIRS = [(encoder, decoder) for encoder in tiny_backbones.ENCODERS for decoder in tiny_backbones.DECODERS]


@pytest.mark.parametrize("encoder,decoder", PAIRS)
def test_loss_is_finite_and_gradients_reach_only_trainable_parameters(backbone_paths, encoder, decoder):
    model, processor = tiny_backbones.build_model(
        backbone_paths[encoder], backbone_paths[decoder], encoder_lora=None, decoder_lora=LORA
    )
    batch = processor(audio=[tiny_backbones.tone(1.0), tiny_backbones.tone(0.4, 440)], text=["hello", "a b"])
    model.train()
    loss = model(**batch).loss
    assert torch.isfinite(loss)
    loss.backward()
    for name, parameter in model.named_parameters():
        trainable = name.startswith("projector.") or "lora_" in name
        assert parameter.requires_grad == trainable, name
        if trainable:  # LoRA's A gets exactly zero gradient at first because B starts at zero
            assert parameter.grad is not None, f"no gradient reached {name}"
            assert "lora_A" in name or parameter.grad.abs().sum() > 0, f"zero gradient at {name}"
        else:
            assert parameter.grad is None, f"frozen {name} got a gradient"


def test_encoder_lora_is_trained_and_encoder_base_stays_frozen(backbone_paths):
    encoder_lora = {"r": 2, "alpha": 4, "dropout": 0.0, "target_modules": ["q_proj", "k_proj"]}
    model, processor = tiny_backbones.build_model(
        backbone_paths["whisper"], backbone_paths["llama"], encoder_lora=encoder_lora
    )
    model.train()
    model(**processor(audio=[tiny_backbones.tone(0.5)], text=["hi"])).loss.backward()
    lora_grads = [p.grad for n, p in model.encoder.named_parameters() if "lora_B" in n]
    assert lora_grads and all(g is not None and g.abs().sum() > 0 for g in lora_grads)
    assert all(p.grad is None for n, p in model.encoder.named_parameters() if "lora_" not in n)


def test_loss_ignores_prompt_audio_and_padding(backbone_paths):
    _, processor = tiny_backbones.build_model(backbone_paths["hubert"], backbone_paths["llama"])
    batch = processor(audio=[tiny_backbones.tone(1.0), tiny_backbones.tone(0.3)], text=["hello", "hi"])
    labels, input_ids = batch["labels"], batch["input_ids"]
    eos = processor.tokenizer.eos_token_id
    for row, target in enumerate(["hello", "hi"]):
        supervised = labels[row][labels[row] != -100].tolist()
        assert supervised == processor.tokenizer.encode(target, add_special_tokens=False) + [eos]
        assert (labels[row][input_ids[row] == processor.audio_token_id] == -100).all()


def test_a_tiny_model_learns_to_transcribe(trained_model, training_clips):
    model, processor = trained_model
    tokens = model.generate(**processor(audio=training_clips), max_new_tokens=12)
    assert processor.batch_decode(tokens) == TARGETS


@pytest.mark.parametrize("encoder", tiny_backbones.ENCODERS)
def test_audio_features_are_the_same_alone_and_in_a_batch(backbone_paths, encoder):
    model, processor = tiny_backbones.build_model(backbone_paths[encoder], backbone_paths["llama"])
    clips = [tiny_backbones.tone(1.3), tiny_backbones.tone(0.37, 500, seed=2), tiny_backbones.tone(0.8, 300, seed=3)]
    batch = processor(audio=clips)
    audio = batch.get("input_values", batch.get("input_features"))
    embeds, mask = model.get_audio_features(audio, batch["audio_attention_mask"])
    for index, clip in enumerate(clips):
        alone = processor(audio=[clip])
        alone_audio = alone.get("input_values", alone.get("input_features"))
        single, single_mask = model.get_audio_features(alone_audio, alone["audio_attention_mask"])
        assert single_mask.sum() == mask[index].sum()
        torch.testing.assert_close(embeds[index][mask[index]], single[0][single_mask[0]], atol=2e-5, rtol=1e-4)


def test_batched_generation_matches_one_at_a_time(trained_model, training_clips):
    model, processor = trained_model
    clips = training_clips + [tiny_backbones.tone(0.45, 900, seed=5)]
    batched = processor.batch_decode(model.generate(**processor(audio=clips), max_new_tokens=12))
    alone = [processor.batch_decode(model.generate(**processor(audio=[clip]), max_new_tokens=12))[0] for clip in clips]
    assert batched == alone
    assert batched[:2] == TARGETS


@pytest.mark.parametrize("decoder", tiny_backbones.DECODERS)
def test_beam_search_with_the_prompt_cache_shared_across_beams_gives_the_same_beams(backbone_paths, decoder):
    model, processor = tiny_backbones.build_model(backbone_paths["whisper"], backbone_paths[decoder])
    batch = processor(audio=[tiny_backbones.tone(1.0, 300), tiny_backbones.tone(0.4, 500, seed=4)])  # left padding
    options = {"num_beams": 3, "num_return_sequences": 3, "max_new_tokens": 8, "return_dict_in_generate": True}
    shared = model.generate(**batch, **options, output_scores=True)
    # transformers' own way, given an empty cache: the prompt runs through the decoder once per beam
    cache_argument = (
        "cache" if "cache" in inspect.signature(type(model.decoder).forward).parameters else "past_key_values"
    )
    alone = model.generate(**batch, **options, output_scores=True, **{cache_argument: DynamicCache()})
    assert torch.equal(shared.sequences, alone.sequences)
    torch.testing.assert_close(shared.sequences_scores, alone.sequences_scores)


def test_placeholder_count_mismatch_names_both_counts(backbone_paths):
    model, processor = tiny_backbones.build_model(backbone_paths["wav2vec2"], backbone_paths["llama"])
    batch = processor(audio=[tiny_backbones.tone(1.0)])
    expected = int((batch["input_ids"] == processor.audio_token_id).sum())
    first = int((batch["input_ids"][0] == processor.audio_token_id).nonzero()[0])
    batch["input_ids"][0, first] = processor.tokenizer.pad_token_id
    with pytest.raises(ValueError, match=rf"{expected - 1} audio placeholder tokens but the audio gives {expected}"):
        model(**batch)


def test_model_without_audio_token_id_says_how_to_fix(backbone_paths):
    from tiny_audio import ASRConfig

    config = ASRConfig(
        encoder_name_or_path=str(backbone_paths["hubert"]), decoder_name_or_path=str(backbone_paths["llama"])
    )
    with pytest.raises(ValueError, match="ASRProcessor.from_config"):
        ASRModel(config)


def test_parts_are_named_encoder_projector_decoder(trained_model):
    model, _ = trained_model
    counts = {
        part: sum(p.numel() for p in getattr(model, part).parameters()) for part in ("encoder", "projector", "decoder")
    }
    assert all(count > 0 for count in counts.values())
    assert sum(counts.values()) == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("decoder", tiny_backbones.DECODERS)
def test_logits_only_at_label_positions_give_the_same_loss_and_gradients(backbone_paths, decoder):
    model, processor = tiny_backbones.build_model(backbone_paths["whisper"], backbone_paths[decoder])
    batch = processor(audio=[tiny_backbones.tone(1.0), tiny_backbones.tone(0.4, 440)], text=["hello there", "a"])
    model.train()

    def every_position():  # the decoder's own loss, projecting every position onto the vocabulary
        audio_features = model.get_audio_features(batch["input_features"], batch["audio_attention_mask"])
        inputs_embeds = model.embed_inputs(batch["input_ids"], audio_features)
        position_ids = (batch["attention_mask"].cumsum(-1) - 1).clamp(min=0)
        return model.decoder(
            inputs_embeds=inputs_embeds,
            attention_mask=batch["attention_mask"],
            position_ids=position_ids,
            labels=batch["labels"],
        )

    results = {}
    for name, run in (("kept", lambda: model(**batch)), ("full", every_position)):
        model.zero_grad()
        outputs = run()
        outputs.loss.backward()
        grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
        results[name] = (outputs.loss.detach(), outputs.logits.shape[1], grads)
    (kept_loss, kept_positions, kept_grads), (full_loss, all_positions, full_grads) = results["kept"], results["full"]
    assert kept_positions < all_positions  # the prompt and audio positions were skipped
    torch.testing.assert_close(kept_loss, full_loss)
    assert kept_grads.keys() == full_grads.keys() and kept_grads
    for name, grad in kept_grads.items():
        torch.testing.assert_close(grad, full_grads[name], rtol=1e-4, atol=1e-6, msg=name)
