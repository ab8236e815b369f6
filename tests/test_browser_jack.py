"""The phone page in a real browser: Debian's Chromium, driven by Selenium through Debian's
chromedriver, against `jazzd` playing on JACK — each action judged at the rig's synth too."""

import itertools
import statistics
import time

import pytest
from jackrig import judge, start_jazzd
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from jazzd.measure.rig import CLICK, chromium, free_port
from jazzd.music.midi import ALL_NOTES_OFF, CLOCK, CONTROL_CHANGE

pytestmark = pytest.mark.jack


@pytest.fixture
def browser(tmp_path):
    driver = chromium(tmp_path / "profile")
    yield driver
    driver.quit()


def shown(driver, element: str) -> str:
    return driver.find_element(By.ID, element).text


def bar_lit(driver) -> int | None:
    value = driver.find_element(By.TAG_NAME, "body").get_attribute("data-bar")
    return int(value) if value else None


def test_pick_a_tune_watch_the_bar_change_tempo_and_panic_from_the_page(rig, tmp_path, browser):
    synth = rig.synth("synth")
    port = free_port()
    config = tmp_path / "j.toml"
    config.write_text(
        '[midi]\nport = "synth"\n[clock]\nout = true\n[tune]\ncount_in = 1\n'
        f"[web]\nenabled = true\nport = {port}\n"
        '[setlist]\ntunes = [{ tune = "blues-f", bpm = 240 }, { tune = "blue-bossa", bpm = 180 }]\n'
    )
    proc = start_jazzd("--config", str(config), tmp=tmp_path)
    try:
        proc.wait_for("page on")
        browser.get(f"http://127.0.0.1:{port}/")
        wait = WebDriverWait(browser, 5)
        wait.until(lambda d: shown(d, "tune") == "Jazz blues in F")
        assert len(browser.find_elements(By.CSS_SELECTOR, "#chart li")) == 12
        bars = []
        for _ in range(25):  # 2.5 s at 240 bpm: the lit bar moves on, bar by bar
            bars.append(bar_lit(browser))
            time.sleep(0.1)
        seen = [bar for bar, _ in itertools.groupby(b for b in bars if b is not None)]
        assert len(seen) >= 2 and all(b == a + 1 for a, b in itertools.pairwise(seen))

        Select(browser.find_element(By.ID, "setlist")).select_by_value("1")
        called = time.perf_counter()
        browser.find_element(By.ID, "call").click()
        wait.until(lambda d: shown(d, "tune") == "Blue Bossa")
        time.sleep(2.5)

        bpm = browser.find_element(By.ID, "bpm")
        bpm.clear()
        bpm.send_keys("200")
        browser.find_element(By.ID, "set-tempo").click()
        tempo_set = time.perf_counter()
        wait.until(lambda d: shown(d, "tempo") == "200")
        time.sleep(2.5)

        panicked = time.perf_counter()
        browser.find_element(By.ID, "panic").click()
        time.sleep(0.5)
    finally:
        stopping = time.perf_counter()
        code, _ = proc.stop()
    judge(proc, synth)
    assert code == 0, "".join(proc.log)
    clicks = [e for e in synth.received if e.data[0] == CLICK and e.data[2] and e.t > called]
    assert len(clicks) == 4 and 0 < clicks[0].t - called < 4 * 60 / 240 + 0.2  # counted in within a bar
    beat = statistics.median((b.frame - a.frame) / rig.rate for a, b in itertools.pairwise(clicks))
    assert beat == pytest.approx(60 / 180, abs=0.002)  # at the new tune's tempo
    ticks = [e.frame / rig.rate for e in synth.received if e.data == [CLOCK] and e.t > tempo_set + 1.4]
    ticks = [t for t in ticks if t < ticks[0] + 1.0]  # a second, past the next bar line (1.33 s at 180)
    tick = statistics.median(b - a for a, b in itertools.pairwise(ticks))
    assert 60 / (24 * tick) == pytest.approx(200, rel=0.01)
    panic = [CONTROL_CHANGE, ALL_NOTES_OFF, 0]
    silenced = [e for e in synth.received if panicked < e.t < stopping and e.data == panic]
    assert silenced  # the panic reached the synth before the stop did
    said = "".join(proc.log)
    for line in ("tune 2 of the setlist (blue-bossa) called from the page", "tempo 200 bpm from the page"):
        assert line in said
