"""The Gradio demo, driven in a real browser (Debian's headless Chromium through Selenium): the course's
`python demo/gradio/app.py --model ... --port ...` serves the embedded default model, an uploaded clip comes back as
the pipeline's own text, and a click without audio says what is missing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tiny_audio" / "samples" / "hello.wav"

needs_browser = pytest.mark.skipif(
    shutil.which("chromedriver") is None or shutil.which("chromium") is None,
    reason="needs Debian's chromium and chromium-driver (scripts/install.sh installs them)",
)


def test_text_mode_switches_the_lora_off_and_back_on(trained_model):
    from tiny_audio.app.demo import lora_switched_off

    model, _ = trained_model
    tokens = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        tuned = model.decoder(input_ids=tokens).logits
        with lora_switched_off(model.decoder):
            pretrained = model.decoder(input_ids=tokens).logits
        again = model.decoder(input_ids=tokens).logits
    assert not torch.allclose(tuned, pretrained)  # the trained LoRA changes the output...
    assert torch.equal(tuned, again)  # ...and is back once text mode is done


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def demo_log(tmp_path_factory) -> Path:
    """The demo server's console output (stdout and stderr), written as it runs."""
    return tmp_path_factory.mktemp("demo") / "server.log"


@pytest.fixture(scope="module")
def demo_url(demo_log):
    port = free_port()
    environment = {**os.environ, "HF_HUB_OFFLINE": "1"}
    log = demo_log.open("w")
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "demo" / "gradio" / "app.py"), "--model", "tiny_audio/default_model",
         "--port", str(port)],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the demo exited with {server.returncode}:\n{demo_log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("the demo did not start listening within 180 s")
    yield url
    server.terminate()
    server.wait(timeout=30)
    log.close()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1600"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()


def output_text(browser, element_id: str) -> str:
    return browser.find_element("css selector", f"#{element_id} textarea").get_attribute("value")


def wait_for(condition, seconds: float = 120):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(None, seconds, poll_frequency=0.5).until(lambda _: condition())


@needs_browser
def test_an_uploaded_clip_comes_back_as_the_pipelines_text(demo_url, browser):
    from tiny_audio.app.transcribe import transcribe_files

    expected = transcribe_files([str(SAMPLE)], model="tiny_audio/default_model")[0]
    browser.get(demo_url)
    wait_for(lambda: browser.find_elements("css selector", "input[type=file]"))
    browser.find_element("css selector", "input[type=file]").send_keys(str(SAMPLE))
    wait_for(lambda: browser.find_elements("css selector", "audio, .waveform-container, [data-testid='waveform']"))
    browser.find_element("css selector", "#run").click()
    wait_for(lambda: output_text(browser, "output"))
    assert output_text(browser, "output") == expected
    assert "this is a test" in expected.lower()
    assert "RTFx" in browser.find_element("css selector", "#timing").text


@needs_browser
def test_streaming_shows_the_text_growing_word_by_word(demo_url, browser):
    """With "Show the text as it is decoded" ticked, the output box grows word by word (greedy search) and ends
    with the pipeline's greedy text."""
    from tiny_audio.app.transcribe import transcribe_files

    expected = transcribe_files([str(SAMPLE)], model="tiny_audio/default_model", generate_kwargs={"num_beams": 1})[0]
    browser.get(demo_url)
    wait_for(lambda: browser.find_elements("css selector", "input[type=file]"))
    browser.find_element("css selector", "input[type=file]").send_keys(str(SAMPLE))
    wait_for(lambda: browser.find_elements("css selector", "audio, .waveform-container, [data-testid='waveform']"))
    browser.find_element("css selector", "#stream input[type=checkbox]").click()
    # Every value the box takes, recorded by the page itself: words arrive faster than WebDriver polls.
    browser.execute_script(
        "window.seenTexts = [];"
        "setInterval(() => { const box = document.querySelector('#output textarea');"
        " if (box && box.value !== window.seenTexts.at(-1)) window.seenTexts.push(box.value); }, 5);"
    )
    browser.find_element("css selector", "#run").click()
    wait_for(lambda: "RTFx" in browser.find_element("css selector", "#timing").text)
    seen = [text for text in browser.execute_script("return window.seenTexts") if text]
    assert seen[-1] == expected and "this is a test" in expected.lower()
    assert len(seen) >= 3 and all(expected.startswith(text.strip()) for text in seen), seen


@needs_browser
def test_running_without_audio_says_what_is_missing(demo_url, demo_log, browser):
    browser.get(demo_url)
    wait_for(lambda: browser.find_elements("css selector", "#run"))
    browser.find_element("css selector", "#run").click()
    wait_for(lambda: "No audio yet" in browser.find_element("tag name", "body").text, seconds=30)
    assert output_text(browser, "output") == ""
    # A learner's missing clip is not a server fault: the console shows no traceback for it.
    assert "Traceback" not in demo_log.read_text(), demo_log.read_text()


@needs_browser
def test_the_context_box_reaches_the_pipeline_which_judges_it(demo_url, demo_log, browser):
    """A context the model refuses (angle brackets could spell special tokens) is said on the page: the box's text
    went through the pipeline's own check (docs/context.md)."""
    browser.get(demo_url)
    wait_for(lambda: browser.find_elements("css selector", "input[type=file]"))
    browser.find_element("css selector", "input[type=file]").send_keys(str(SAMPLE))
    wait_for(lambda: browser.find_elements("css selector", "audio, .waveform-container, [data-testid='waveform']"))
    browser.find_element("css selector", "#context textarea").send_keys("Tiny Audio, <b>")
    browser.find_element("css selector", "#run").click()
    wait_for(lambda: "holds '<'" in browser.find_element("tag name", "body").text, seconds=60)
    assert output_text(browser, "output") == ""
    assert "Traceback" not in demo_log.read_text(), demo_log.read_text()


@needs_browser
def test_text_mode_answers_with_the_decoder_alone(demo_url, browser):
    from tiny_audio.app.demo import DemoModel

    message = "Name a fruit."
    expected = DemoModel("tiny_audio/default_model").chat(message)
    browser.get(demo_url)
    wait_for(lambda: [tab for tab in browser.find_elements("css selector", "button") if tab.text == "Text mode"])
    next(tab for tab in browser.find_elements("css selector", "button") if tab.text == "Text mode").click()
    wait_for(lambda: browser.find_element("css selector", "#message textarea").is_displayed())
    browser.find_element("css selector", "#message textarea").send_keys(message)
    browser.find_element("css selector", "#send").click()
    wait_for(lambda: output_text(browser, "reply"))
    assert output_text(browser, "reply") == expected and expected


@pytest.fixture(scope="module")
def default_demo_model():
    from tiny_audio.app.demo import DemoModel

    return DemoModel("tiny_audio/default_model")


def test_only_the_tasks_the_model_learned_are_offered(default_demo_model):
    """Training teaches only "transcribe"; an older config's "describe" prompt would come back as a transcript, so it
    is not offered, and asking for it says why."""
    assert default_demo_model.asr.model.config.prompts == {"transcribe": "Transcribe the audio."}
    assert default_demo_model.tasks == ["transcribe"]
    with pytest.raises(ValueError, match="trained only to transcribe; 'describe' is not offered"):
        default_demo_model.run(str(SAMPLE), "describe", "")


def test_a_hub_model_that_cannot_be_had_is_one_line_naming_the_offline_choice():
    done = subprocess.run(
        [sys.executable, str(ROOT / "demo" / "gradio" / "app.py"), "--model", "mazesmazes/tiny-audio", "--port", "1"],
        cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "mazesmazes/tiny-audio" in lines[0] and "tiny_audio/default_model" in lines[0]
