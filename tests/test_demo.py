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
    from tiny_audio.demo import lora_switched_off

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
def demo_url():
    port = free_port()
    environment = {**os.environ, "HF_HUB_OFFLINE": "1"}
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "demo" / "gradio" / "app.py"), "--model", "tiny_audio/default_model",
         "--port", str(port)],
        cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the demo exited with {server.returncode}:\n{server.stdout.read()}")
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
    from tiny_audio.transcribe import transcribe_files

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
def test_running_without_audio_says_what_is_missing(demo_url, browser):
    browser.get(demo_url)
    wait_for(lambda: browser.find_elements("css selector", "#run"))
    browser.find_element("css selector", "#run").click()
    wait_for(lambda: "No audio yet" in browser.find_element("tag name", "body").text, seconds=30)
    assert output_text(browser, "output") == ""


@needs_browser
def test_text_mode_answers_with_the_decoder_alone(demo_url, browser):
    from tiny_audio.demo import DemoModel

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
