#!/usr/bin/env python3
"""The page residents use: its size (the HTML, CSS and script the concierge
serves, as sent) and its first render in headless Chromium (first
contentful paint and the life events listed, medians of 10 loads in one
run), at 390 px and 1080 px. Needs a concierge serving: run
bench/concierge/run first, or give --url. Not a test: run it by hand.

    /usr/bin/python3 bench/concierge/page.py --url https://localhost:PORT/ [--loads 10]
"""
import argparse
import statistics
import ssl
import tempfile
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--loads", type=int, default=10)
    a = ap.parse_args()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    total = 0
    for path in ("", "app.css", "app.js"):
        body = urllib.request.urlopen(a.url + path, context=ctx).read()
        total += len(body)
        print("%-10s %6d bytes" % (path or "index.html", len(body)))
    print("%-10s %6d bytes (no fonts, images or scripts from elsewhere)" % ("total", total))
    for width, height in ((390, 844), (1080, 1920)):
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for o in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--ignore-certificate-errors", "--window-size=%d,%d" % (width, height),
                  "--user-data-dir=" + tempfile.mkdtemp(prefix="renkei-bench-chromium-")):
            options.add_argument(o)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        fcp, listed = [], []
        try:
            for _ in range(a.loads):
                driver.get("about:blank")
                driver.get(a.url)
                WebDriverWait(driver, 20).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#event-list button")))
                t = driver.execute_script(
                    "const p = performance.getEntriesByName('first-contentful-paint')[0];"
                    "return [p ? p.startTime : -1, performance.now()];")
                fcp.append(t[0])
                listed.append(t[1])
        finally:
            driver.quit()
        print("%4d px: first contentful paint %.0f ms, life events listed by %.0f ms (medians of %d)" % (
            width, statistics.median(fcp), statistics.median(listed), a.loads))


if __name__ == "__main__":
    main()
