"""The docs site (tools/docs.py) in a real browser: every page linked from the navigation exists, loads with the
same navigation, and shows no broken image and no Python traceback in its outputs. A screenshot of each page is
saved to <site>/screenshots/<page>.png (the whole page, up to 16,000 pixels high).

The site is built with `--execute` into a temporary folder (each notebook runs, as under nbdev_test), unless
CIFAR_ADV_DOCS names a folder already built, e.g. after `python tools/docs.py --execute`:

    CIFAR_ADV_DOCS=_docs python -m pytest -q tests/test_docs.py

Needs Debian's `chromium` and `chromium-driver` (apt-get install -y chromium chromium-driver) and the `selenium`
package; skipped, with the reason, without them.
"""
import base64, os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, DRIVER = shutil.which('chromium') or shutil.which('chromium-browser'), shutil.which('chromedriver')

def missing_browser(chromium, driver) -> str | None:
    "The skip reason naming exactly what is missing of the browser (`chromium`) and its driver (`chromedriver`), or None."
    gone = [(cmd, pkg) for cmd, pkg, found in (('chromium', 'chromium', chromium), ('chromedriver', 'chromium-driver', driver)) if not found]
    if not gone: return None
    return (f"headless browser test: {' and '.join(c for c, _ in gone)} not installed "
            f"(apt-get install -y {' '.join(p for _, p in gone)})")

@pytest.mark.parametrize('chromium, driver, reason', [
    ('/usr/bin/chromium', None, 'headless browser test: chromedriver not installed (apt-get install -y chromium-driver)'),
    (None, '/usr/bin/chromedriver', 'headless browser test: chromium not installed (apt-get install -y chromium)'),
    (None, None, 'headless browser test: chromium and chromedriver not installed (apt-get install -y chromium chromium-driver)'),
    ('/usr/bin/chromium', '/usr/bin/chromedriver', None)])
def test_skip_reason_names_what_is_missing(chromium, driver, reason):
    assert missing_browser(chromium, driver) == reason

@pytest.fixture(scope='module')
def site(tmp_path_factory) -> Path:
    "A built site: $CIFAR_ADV_DOCS, or a fresh `tools/docs.py --execute` build in a temporary folder."
    if os.environ.get('CIFAR_ADV_DOCS'):
        d = ROOT/os.environ['CIFAR_ADV_DOCS']           # an absolute path stays as it is
        assert (d/'index.html').is_file(), f"CIFAR_ADV_DOCS={d}: no index.html there (python tools/docs.py --execute --out {d})"
        return d
    d = tmp_path_factory.mktemp('docs')
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'docs.py'), '--execute', '--out', str(d)],
                       capture_output=True, text=True, cwd=ROOT, timeout=1800)
    assert r.returncode == 0, f"docs build failed:\n{r.stderr[-3000:]}"
    return d

@pytest.fixture(scope='module')
def browser():
    "Headless Chromium through Selenium; skips the test, saying what is missing, without them."
    if missing_browser(CHROMIUM, DRIVER): pytest.skip(missing_browser(CHROMIUM, DRIVER))
    webdriver = pytest.importorskip('selenium.webdriver', reason='headless browser test: selenium not installed (pip install selenium)')
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--window-size=1280,1400'):
        o.add_argument(a)
    b = webdriver.Chrome(options=o, service=Service(DRIVER))     # explicit driver: Selenium Manager never goes online
    yield b
    b.quit()

NAV_LINKS = "return [...new Set([...document.querySelectorAll('nav a')].map(a => a.getAttribute('href')))]"
LOADED = "return document.readyState === 'complete' && [...document.images].every(i => i.complete)"
BROKEN_IMGS = "return [...document.images].filter(i => i.naturalWidth === 0).map(i => i.src.slice(0, 80))"
# a traceback in an output: the class tools/docs.py gives error outputs, or the text any traceback prints
TRACEBACKS = """return [...document.querySelectorAll('.jp-OutputArea-output, .nb-error')]
    .filter(e => e.closest('.nb-error') || e.innerText.includes('Traceback (most recent call last)'))
    .map(e => e.innerText.trim().split('\\n').slice(-1)[0].slice(0, 160))"""

def full_page_png(browser, path:Path, max_height:int=16000):
    "Screenshot of the whole page (up to `max_height` pixels), not only the window, through the DevTools protocol."
    w, h = browser.execute_script("return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    shot = browser.execute_cdp_cmd('Page.captureScreenshot', dict(format='png', captureBeyondViewport=True,
                                   clip=dict(x=0, y=0, width=w, height=min(h, max_height), scale=1)))
    path.write_bytes(base64.b64decode(shot['data']))

@pytest.mark.slow
def test_pages(browser, site):                    # the browser first: without one, no site is built
    from selenium.webdriver.support.ui import WebDriverWait
    shots = site/'screenshots'
    shots.mkdir(exist_ok=True)
    browser.get((site/'index.html').as_uri())
    links = browser.execute_script(NAV_LINKS)
    n_nbs = len([p for p in (ROOT/'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts])
    assert len(links) == n_nbs, f"navigation links {len(links)} pages, nbs/ has {n_nbs} notebooks: {links}"
    problems = []
    for href in links:
        page = site/href
        if not page.is_file(): problems.append(f"{href}: missing page"); continue
        browser.get(page.as_uri())
        WebDriverWait(browser, 30).until(lambda b: b.execute_script(LOADED))
        if browser.execute_script(NAV_LINKS) != links: problems.append(f"{href}: navigation differs from index.html's")
        problems += [f"{href}: broken image {src}" for src in browser.execute_script(BROKEN_IMGS)]
        problems += [f"{href}: traceback in an output: {line}" for line in browser.execute_script(TRACEBACKS)]
        full_page_png(browser, shots/f"{page.stem}.png")
    print(f"screenshots of {len(links)} pages in {shots}")
    assert not problems, '\n'.join(problems)
