#!/usr/bin/env python3
"""The page residents use, in a real browser (issue 15, item 6): headless
Chromium (Debian's chromium and chromium-driver, driven by Selenium) walks
転入 with a child through every level by keyboard, checks the progress %,
the procedures and their deadlines, makes the token, reads the QR image back
with zbarimg and opens the token in an LGWAN instance; asks the question
box one question the city's knowledge answers (its source shown) and one
it cannot (the counter's handoff, the model not asked: the model is
tests/tools/fake_llm.py, the one stand-in, as no model runs here); every text element's
computed colours are checked for a contrast of 7:1 or more (WCAG AAA), at
390 px and 1080 px wide; screenshots are kept in build/test-artifacts/.
"""
import datetime
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from page_checks import contrast_problems  # noqa: E402
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

SOURCE = os.environ["RENKEI_SOURCE_DIR"]
RENKEI = os.environ["RENKEI_BIN"]
PLUGINS = os.environ["RENKEI_PLUGIN_DIR"]
ARTIFACTS = os.environ.get("RENKEI_ARTIFACT_DIR", os.path.join(os.path.dirname(RENKEI), "..", "test-artifacts"))
failures = []


def check(ok, what):
    print(("ok: " if ok else "FAILED: ") + what, flush=True)
    if not ok:
        failures.append(what)


def wait_for_log(path, pattern, seconds=30):
    end = time.time() + seconds
    while time.time() < end:
        if os.path.exists(path):
            m = re.search(pattern, open(path, encoding="utf-8", errors="replace").read())
            if m:
                return m.group(1)
        time.sleep(0.1)
    raise SystemExit("not started: %s (%s)" % (pattern, path))




def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def contrast(driver, where):
    checked, bad = contrast_problems(driver, 7)
    check(checked > 0 and not bad, "%s: %d text elements at 7:1 or more%s" % (where, checked, ("; below: " + "; ".join(bad)) if bad else ""))


def main():
    work = tempfile.mkdtemp(prefix="renkei-page-")
    procs = []
    try:
        env = dict(os.environ, RENKEI_PLUGIN_DIR=PLUGINS, RENKEI_BIN=RENKEI)
        subprocess.run([os.path.join(SOURCE, "scripts/make-certs"), work + "/tls", "window-demo"], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([os.path.join(SOURCE, "scripts/make-keys"), work + "/keys"], check=True, env=env)
        cfg, t, k = os.path.join(SOURCE, "config"), work + "/tls", work + "/keys"
        os.makedirs(work + "/net")
        os.makedirs(work + "/lgwan")
        # The stand-in language model (HTTPS, the chat-completions protocol).
        model_port = free_port()
        model_log = open(work + "/model.log", "w")
        procs.append(subprocess.Popen(["/usr/bin/python3", os.path.join(SOURCE, "tests/tools/fake_llm.py"), "--port",
                                       str(model_port), "--cert", t + "/server.crt", "--key", t + "/server.key",
                                       "--record", work + "/requests.jsonl"], stdout=model_log, stderr=model_log))
        wait_for_log(work + "/model.log", r"(listening)")
        with open(work + "/net/config.xml", "w") as f:
            f.write("""<renkei xmlns="urn:renkei:config:1" instance="net" zone="internet" time-zone="Asia/Tokyo">
  <log level="notice"/><pipeline poll-interval="200ms"/><store driver="sqlite" path="renkei.db"/>
  <connector id="floor-in" plugin="file"><directory>{w}/floor</directory><settle>0s</settle></connector>
  <route id="floor" from="floor-in" to="concierge" mapping="{s}/mappings/floor-status-to-internet.xml"/>
  <connector id="ask" plugin="ai">
    <endpoint>https://localhost:{mp}/normal/v1</endpoint><model>city-model</model><ca>{t}/ca.crt</ca>
    <no-training>true</no-training><attestation>試験用の契約 第1条</attestation><risk-level>medium</risk-level>
    <knowledge>{s}/config/ai/knowledge</knowledge><index>{w}/ai-index.db</index><timeout>5s</timeout>
    <handoff-topics>ごみ=ごみのことは環境課（12番窓口）へおたずねください</handoff-topics>
  </connector>
  <module id="concierge" plugin="concierge">
    <knowledge>{c}/concierge/knowledge.xml</knowledge><rules>{c}/concierge/related-procedures.xml</rules>
    <calendar>{c}/calendar/demo-city.xml</calendar><parameters>child-medical-age=15</parameters>
    <token-key>{k}/internet/token.pub</token-key><towns>{c}/concierge/towns.txt</towns>
    <port>0</port><certificate>{t}/server.crt</certificate><key>{t}/server.key</key>
    <colour>green</colour><municipality>見本市</municipality><assistant>ask</assistant>
  </module>
</renkei>
""".format(c=cfg, k=k, t=t, w=work, s=SOURCE, mp=model_port))
        # The floor's status as the bridge brings it from LGWAN (here a file).
        today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 9 * 3600))
        os.makedirs(work + "/floor/in")
        with open(work + "/floor/in/status.jsonl", "w", encoding="utf-8") as f:
            for line, waiting, current, tickets in (("住民異動", 12, "A105", ["A%d" % n for n in range(106, 118)]),
                                                    ("税証明", 0, "", []), ("国民健康保険", 3, "C007", ["C008", "C009", "C010"])):
                f.write('{"site":"本庁舎","date":"%s","line":"%s","waiting":"%d","current":"%s","expected_wait_s":"840",'
                        '"call_interval_s":"95","waiting_tickets":"%s","updated":"%s 09:42:15 +09:00"}\n'
                        % (today, line, waiting, current, ";".join(tickets), today))
        with open(work + "/lgwan/config.xml", "w") as f:
            f.write("""<renkei xmlns="urn:renkei:config:1" instance="city" zone="lgwan">
  <store driver="sqlite" path="renkei.db"/>
  <api address="127.0.0.1" port="0" certificate="{t}/server.crt" key="{t}/server.key" client-ca="{t}/ca.crt" clients="window-demo"/>
  <module id="crm" plugin="crm"><token-keys>{k}/lgwan/token.key</token-keys></module>
</renkei>
""".format(t=t, k=k))
        for name in ("net", "lgwan"):
            log = open(work + "/%s/serve.log" % name, "w")
            procs.append(subprocess.Popen([RENKEI, "serve", "--config", work + "/%s/config.xml" % name], env=env,
                                          stdout=log, stderr=log))
        port = wait_for_log(work + "/net/serve.log", r"serving the API on https://127\.0\.0\.1:(\d+)/")
        lgwan_port = wait_for_log(work + "/lgwan/serve.log", r"on 127\.0\.0\.1:(\d+) \(TLS")

        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--ignore-certificate-errors", "--user-data-dir=" + work + "/chromium", "--window-size=390,844",
                  "--lang=ja"):
            options.add_argument(a)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        try:
            wait = WebDriverWait(driver, 20)
            driver.get("https://localhost:%s/?channel=web" % port)
            wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#event-list button")))
            contrast(driver, "390 px, life events")
            os.makedirs(ARTIFACTS, exist_ok=True)
            driver.save_screenshot(os.path.join(ARTIFACTS, "page-390-events.png"))
            # The question box, by keyboard: one question the knowledge answers, one it cannot.
            box = driver.find_element(By.ID, "question-box")
            check(box.is_displayed(), "the question box is shown (the concierge has an assistant)")
            topics = [o.text for o in driver.find_elements(By.CSS_SELECTOR, "#question-topic option")]
            check("ごみ" in topics, "the topics come from the assistant: " + ", ".join(topics))
            field = driver.find_element(By.ID, "question-text")
            check(driver.find_element(By.CSS_SELECTOR, "label[for=question-text]").text == "質問", "the question has its label")
            field.send_keys("粗大ごみはどうやって出せばいいですか")
            driver.find_element(By.ID, "question-send").send_keys(Keys.ENTER)
            wait.until(lambda d: d.find_element(By.ID, "question-answer").get_attribute("data-kind") == "answer")
            sources = driver.find_element(By.ID, "answer-sources").text
            check("粗大ごみ" in sources and "gomi.md" in sources, "the answer names its source: " + sources)
            check("資料によると" in driver.find_element(By.ID, "answer-text").text, "the model's answer is shown")
            asked = len(open(work + "/requests.jsonl", encoding="utf-8").read().splitlines())
            check(asked == 1, "the model was asked once")
            check('"stream": true' in open(work + "/requests.jsonl", encoding="utf-8").read(),
                  "the page asked for the answer as a stream")
            check(driver.find_element(By.ID, "question-answer").get_attribute("aria-busy") == "false",
                  "the answer region is no longer busy once the answer is whole")
            contrast(driver, "390 px, an answer with its source")
            driver.save_screenshot(os.path.join(ARTIFACTS, "page-390-answer.png"))
            field.clear()
            field.send_keys("月旅行の予約はどこでできますか")
            driver.execute_script("document.getElementById('question-topic').value = 'ごみ'")
            driver.find_element(By.ID, "question-send").send_keys(Keys.ENTER)
            wait.until(lambda d: d.find_element(By.ID, "question-answer").get_attribute("data-kind") == "handoff")
            check(driver.find_element(By.ID, "answer-text").text == "ごみのことは環境課（12番窓口）へおたずねください",
                  "a question outside the knowledge is handed to the counter")
            check(not driver.find_element(By.ID, "answer-sources-box").is_displayed(), "a handoff names no source")
            check(len(open(work + "/requests.jsonl", encoding="utf-8").read().splitlines()) == asked,
                  "the model was not asked for the handoff")
            check(driver.find_element(By.ID, "question-answer").get_attribute("role") == "status",
                  "the answer is announced (role=status)")
            contrast(driver, "390 px, a handoff")
            # By keyboard: focus the 転入 button and press Enter, then answer each question the same way.
            tennyu = [b for b in driver.find_elements(By.CSS_SELECTOR, "#event-list button") if b.text.startswith("転入")][0]
            tennyu.send_keys(Keys.ENTER)
            wait.until(EC.visibility_of_element_located((By.ID, "question")))
            check(driver.find_element(By.ID, "progress-text").text == "0%", "progress 0% at the first question")
            check(driver.switch_to.active_element.get_attribute("id") == "question", "focus moves to the question")
            for label, progress in (("ほかの都道府県", "33%"), ("入らない（国民健康保険に入る）", "66%"), ("どちらもあてはまらない", None)):
                button = wait.until(lambda d: [b for b in d.find_elements(By.CSS_SELECTOR, "#choice-list button") if b.text == label])[0]
                button.send_keys(Keys.ENTER)
                if progress:
                    wait.until(lambda d: d.find_element(By.ID, "progress-text").text == progress)
                    check(True, "progress %s" % progress)
            wait.until(EC.visibility_of_element_located((By.ID, "household-form")))
            check(driver.find_element(By.ID, "progress-text").text == "100%", "progress 100% when the questions are done")
            contrast(driver, "390 px, household form")
            move = (datetime.date.today() + datetime.timedelta(days=20)).isoformat()
            set_value = "document.getElementById(arguments[0]).value = arguments[1];"
            driver.execute_script(set_value, "move-date", move)
            driver.find_element(By.ID, "address").send_keys("架空県見本市中央一丁目1番1号")
            driver.find_element(By.ID, "previous-address").send_keys("試験県例題市北町二丁目3番4号")
            driver.find_element(By.ID, "add-member").click()
            for i, (name, kana, birth, sex, rel) in enumerate((("試験 一郎", "シケン イチロウ", "1985-06-15", "1", "世帯主"),
                                                              ("試験 さくら", "シケン サクラ", "2019-04-01", "2", "子")), 1):
                driver.find_element(By.ID, "m%d-name" % i).send_keys(name)
                driver.find_element(By.ID, "m%d-kana" % i).send_keys(kana)
                driver.execute_script(set_value, "m%d-birth" % i, birth)
                driver.execute_script(set_value, "m%d-sex" % i, sex)
                driver.find_element(By.ID, "m%d-relationship" % i).send_keys(rel)
            driver.find_element(By.ID, "show-result").send_keys(Keys.ENTER)
            wait.until(EC.visibility_of_element_located((By.ID, "procedure-list")))
            text = driver.find_element(By.ID, "procedure-list").text
            for name in ("転入届", "国民健康保険の加入", "児童手当の認定請求", "小・中学校の転入学手続き"):
                check(name in text, "the procedures list %s" % name)
            check(len(re.findall(r"期限: \d{4}-\d{2}-\d{2}", text)) >= 3, "deadlines are dates")
            check(not driver.find_element(By.ID, "at-counter").is_displayed(),
                  "a 転入 has nothing the city's records add (no rule on them): the section stays hidden")
            contrast(driver, "390 px, procedures")
            driver.find_element(By.ID, "make-token").send_keys(Keys.ENTER)
            qr = wait.until(EC.visibility_of_element_located((By.ID, "qr-image")))
            driver.save_screenshot(os.path.join(ARTIFACTS, "page-390-result.png"))
            png = os.path.join(work, "qr.png")
            driver.execute_script("arguments[0].scrollIntoView({block: \"center\"})", qr)
            qr.screenshot(png)
            shutil.copy(png, os.path.join(ARTIFACTS, "page-390-qr.png"))
            z = subprocess.run(["/usr/bin/zbarimg", "--raw", "-q", png], stdout=subprocess.PIPE, text=True)
            token = z.stdout.strip()
            check(token.startswith("RK1:"), "zbarimg reads the QR image back as a token")
            opened = subprocess.run([os.path.join(os.path.dirname(RENKEI), "renkei-window-client"), "--port", lgwan_port,
                                     "--ca", t + "/ca.crt", "--cert", t + "/window-demo.crt", "--key", t + "/window-demo.key",
                                     "open-token", token], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            check(opened.returncode == 0 and "子: 試験 さくら" in opened.stdout, "the token opens in LGWAN: " + opened.stdout + opened.stderr)
            check(driver.find_element(By.ID, "address").get_attribute("value") == "", "the form is emptied once the token is made")
            contrast(driver, "390 px, token")
            # The kiosk width.
            driver.set_window_size(1080, 1920)
            driver.get("https://localhost:%s/?channel=kiosk" % port)
            wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#event-list button")))
            contrast(driver, "1080 px, life events")
            driver.save_screenshot(os.path.join(ARTIFACTS, "page-1080-events.png"))
            requests = driver.execute_script("return performance.getEntriesByType('resource').map(r => r.name)")
            check(all(r.startswith("https://localhost:%s/" % port) for r in requests), "nothing loaded from another origin")
            # The waiting status: every line, and one ticket's page (what its QR code opens), at a phone's width.
            driver.set_window_size(390, 844)
            driver.get("https://localhost:%s/floor" % port)
            rows = driver.find_elements(By.CSS_SELECTOR, "table.floor-lines tbody tr")
            check(len(rows) == 3 and any("住民異動" in r.text and "12 人" in r.text and "A105" in r.text for r in rows),
                  "/floor lists the three lines: " + " / ".join(r.text for r in rows))
            check(driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja", "/floor is lang=ja")
            contrast(driver, "390 px, waiting status")
            driver.save_screenshot(os.path.join(ARTIFACTS, "page-390-floor.png"))
            driver.get("https://localhost:%s/floor/ticket?line=%%E4%%BD%%8F%%E6%%B0%%91%%E7%%95%%B0%%E5%%8B%%95&n=A110" % port)
            status = driver.find_element(By.CSS_SELECTOR, ".floor-status").text
            check("あなたの前に 4 人" in status and "約 8 分" in status, "the ticket's page: " + status)
            contrast(driver, "390 px, one ticket")
            # The refresh link is reached by keyboard and shows where focus is.
            driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
            focused = driver.switch_to.active_element
            check(focused.tag_name == "a" and "更新" in focused.text, "Tab reaches the refresh link: " + focused.text)
            outline = driver.execute_script("return getComputedStyle(arguments[0]).outlineStyle", focused)
            check(outline not in ("", "none"), "the focused link shows an outline: " + str(outline))
            driver.save_screenshot(os.path.join(ARTIFACTS, "page-390-ticket.png"))
        finally:
            driver.quit()
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait()
        shutil.rmtree(work, ignore_errors=True)
    print("screenshots in " + os.path.abspath(ARTIFACTS))
    if failures:
        print("%d failed" % len(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
