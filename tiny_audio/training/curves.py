"""Loss and WER curves of a run, as a PNG in its output directory."""

from __future__ import annotations

from pathlib import Path


def plot_curves(log_history: list[dict], path: Path) -> Path | None:
    """Training loss and eval loss on the left, eval WER on the right, against the optimizer step."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    def series(key: str) -> tuple[list[int], list[float]]:
        points = [(entry["step"], entry[key]) for entry in log_history if key in entry and "step" in entry]
        return [step for step, _ in points], [value for _, value in points]

    train_steps, train_loss = series("loss")
    eval_steps, eval_loss = series("eval_loss")
    wer_steps, wer = series("eval_wer")
    if not (train_steps or eval_steps):
        return None
    figure, (loss_axis, wer_axis) = plt.subplots(1, 2, figsize=(11, 4))
    loss_axis.plot(train_steps, train_loss, label="train loss", alpha=0.8)
    ctc_steps, ctc_loss = series("ctc_loss")
    if ctc_steps:  # training.ctc_weight: the projector's CTC part, drawn on its own
        loss_axis.plot(ctc_steps, ctc_loss, label="train CTC loss", alpha=0.8)
    if eval_steps:
        loss_axis.plot(eval_steps, eval_loss, "o-", label="eval loss")
    loss_axis.set(xlabel="step", ylabel="loss", title="Loss")
    loss_axis.legend()
    loss_axis.grid(alpha=0.3)
    if wer_steps:
        wer_axis.plot(wer_steps, [100 * value for value in wer], "o-", color="tab:red", label="model (decoder)")
    ctc_wer_steps, ctc_wer = series("eval_ctc_wer")
    if ctc_wer_steps:  # training.ctc_weight: the projector's own best CTC path, read as text
        percent = [100 * value for value in ctc_wer]
        wer_axis.plot(ctc_wer_steps, percent, "s--", color="tab:orange", label="projector CTC")
        wer_axis.legend()
    wer_axis.set(xlabel="step", ylabel="WER (%)", title="Eval word error rate")
    wer_axis.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
