#!/usr/bin/env python
"""The notebook app as a person meets it: JupyterLab in headless Chromium, one transfer through the UI.

Serves a notebook holding `StylusApp` on the tiny random-weight model with JupyterLab (127.0.0.1, a random token,
its own config, settings and workspace folders), opens it in headless Chromium (Debian's `/usr/bin/chromium` and
`/usr/bin/chromedriver`, driven by selenium) with JupyterLab's file browser open beside it, runs the notebook's
cell, clicks **Run** in the app (2 s of the content, two styles, 2 steps) and waits for the result; after the
uploads, it ticks "change style over time", types the schedule's end, checks that the weight sliders are greyed
out and runs again. It fails, with exit 1 and one line `app check: failed: ...`, on a missing audio player, an
error line in the app, a result title that does not name the style (or, with the schedule, both styles), sliders
left active under the schedule, a browser console error (SEVERE), or a layout that does not fit the notebook (a horizontal
scrollbar, a cut-off label or control); on success it prints one line `app check: passed: ...`. It installs
nothing (it needs `jupyterlab` and `selenium` in this Python, and Debian's `chromium` and `chromium-driver`), is
bounded in time (3.5 minutes at most; under a minute when all is well), always stops the server, and leaves a
screenshot in `.docs-check/app.png`.

    python scripts/app_check.py [--timeout 180] [--screenshot .docs-check/app.png] [--keep-log]
"""
from __future__ import annotations
import argparse, json, os, secrets, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = Path('/usr/bin/chromium'), Path('/usr/bin/chromedriver')

CELL = """\
from stylus.pipeline import StylusPipeline
from stylus.testing import tiny_pipeline
from stylus.widgets import StylusApp
app = StylusApp(StylusPipeline.from_pretrained(str(tiny_pipeline()), device='cpu', dtype='float32', verbose=False))
app.seconds.value, app.steps.value = 2, 2   # a short run: one window, two DDIM steps
app.styles[1].enabled.value = True          # two styles, for the schedule's run
app"""

# Inside the page: what a person would see as broken in the app's output area (returned as a list of sentences).
LAYOUT_JS = """
const app = document.querySelector('.stylus-app');
if (!app) return ['the app is not on the page'];
const out = app.closest('.jp-OutputArea-output') || app.parentElement, right = out.getBoundingClientRect().right + 1;
const name = el => (el.className && typeof el.className === 'string' ? el.className.split(' ').slice(0, 2).join('.') : el.tagName)
                   + (el.textContent ? ' "' + el.textContent.trim().slice(0, 30) + '"' : '');
const problems = [];
for (const el of [out, app, ...app.querySelectorAll('*')]) {
  const s = getComputedStyle(el);
  if (['auto', 'scroll'].includes(s.overflowX) && el.scrollWidth > el.clientWidth + 1)
    problems.push('a horizontal scrollbar on ' + name(el) + ' (' + el.scrollWidth + ' px in ' + el.clientWidth + ')');
}
for (const el of app.querySelectorAll('.widget-label')) {
  if (el.offsetParent && el.scrollWidth > el.clientWidth + 1) problems.push('the label "' + el.textContent + '" is cut off');
}
for (const el of app.querySelectorAll('select, img, audio, button, .widget-slider, .widget-progress')) {
  const r = el.getBoundingClientRect();
  if (el.offsetParent && r.right > right) problems.push(name(el) + ' reaches past the notebook (' + Math.round(r.right - right) + ' px)');
}
return problems;
"""


class CheckFailed(Exception):
    "The check's one line of failure."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def _wait(what: str, until: float, probe, every: float = 0.5):
    "Call `probe` until it returns something true (returned), or fail with `what` at the deadline `until`."
    while True:
        got = probe()
        if got: return got
        if time.monotonic() > until: raise CheckFailed(f'timed out waiting for {what}')
        time.sleep(every)


def _notebook(folder: Path) -> Path:
    "The notebook the check serves: one code cell that shows the app."
    nb = {'cells': [{'cell_type': 'code', 'execution_count': None, 'id': 'stylus-app', 'metadata': {}, 'outputs': [],
                     'source': CELL}],
          'metadata': {'kernelspec': {'display_name': 'Python 3', 'language': 'python', 'name': 'python3'}},
          'nbformat': 4, 'nbformat_minor': 5}
    news = folder/'settings'/'@jupyterlab'/'apputils-extension'/'notification.jupyterlab-settings'
    news.parent.mkdir(parents=True); news.write_text(json.dumps({'fetchNews': 'false'}))   # no "Jupyter news?" pop-up
    path = folder/'app.ipynb'
    path.write_text(json.dumps(nb, indent=1)); return path


def _serve(folder: Path, port: int, token: str, log) -> subprocess.Popen:
    "JupyterLab on 127.0.0.1:`port` over `folder`, isolated from the user's Jupyter configuration, in its own process group."
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(folder/'config'), JUPYTER_RUNTIME_DIR=str(folder/'runtime'),
               JUPYTER_PLATFORM_DIRS='1', OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'), HF_HUB_OFFLINE='1')
    cmd = [sys.executable, '-m', 'jupyter', 'lab', '--no-browser', '--ip=127.0.0.1', f'--port={port}', '--port-retries=0',
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={folder}', '--ServerApp.open_browser=False',
           f'--LabApp.user_settings_dir={folder/"settings"}', f'--LabApp.workspaces_dir={folder/"workspaces"}',
           '--LabApp.expose_app_in_browser=True', '--LabApp.news_url=None',
           '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate', '--LabApp.extension_manager=readonly',
           *(['--allow-root'] if os.geteuid() == 0 else [])]
    return subprocess.Popen(cmd, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(server: subprocess.Popen):
    "Stop the server and its kernels (its process group): SIGTERM, then SIGKILL after 10 s."
    if server.poll() is not None: return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        try: server.wait(10)
        except subprocess.TimeoutExpired: os.killpg(server.pid, signal.SIGKILL); server.wait(5)
    except ProcessLookupError: pass


def _up(port: int, token: str) -> bool:
    try:
        with urllib.request.urlopen(f'http://127.0.0.1:{port}/api/status?token={token}', timeout=2) as r: return r.status == 200
    except OSError: return False


def _browser():
    "Headless Chromium through chromedriver, keeping the console log."
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for a in ['--headless=new', '--window-size=1280,1700', '--disable-gpu', '--no-first-run', '--disable-extensions',
              '--disable-dev-shm-usage', '--no-sandbox' if os.geteuid() == 0 else '--enable-sandbox']: opts.add_argument(a)
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)


def _js(driver, code: str, *args):
    return driver.execute_script(code, *args)


def check(timeout: float, screenshot: Path, log) -> str:
    "Run the whole check; return the success line's details or raise `CheckFailed`."
    until = time.monotonic() + timeout
    for need, hint in [(CHROMIUM, 'apt-get install chromium'), (CHROMEDRIVER, 'apt-get install chromium-driver')]:
        if not need.exists(): raise CheckFailed(f'{need} is missing ({hint})')
    try: import selenium, jupyterlab  # noqa: F401
    except ImportError as e: raise CheckFailed(f'{e.name} is not installed in this Python (pip install jupyterlab selenium)')
    from selenium.webdriver.common.by import By
    folder = Path(tempfile.mkdtemp(prefix='stylus-app-check-'))
    port, token, server, driver = _free_port(), secrets.token_hex(16), None, None
    try:
        _notebook(folder)
        server = _serve(folder, port, token, log)
        _wait('JupyterLab to start', min(until, time.monotonic() + 60),
              lambda: _up(port, token) or (server.poll() is not None and _raise(f'JupyterLab exited with {server.returncode}')))
        driver = _browser()
        driver.set_page_load_timeout(max(10, until - time.monotonic()))
        driver.get(f'http://127.0.0.1:{port}/lab/tree/app.ipynb?token={token}')
        idle = """const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
                  return k ? k.status : null;"""
        _wait('the notebook and its kernel', until, lambda: _js(driver, idle) == 'idle')
        if not _js(driver, "const b = document.querySelector('.jp-FileBrowser'); return !!(b && b.offsetParent);"):
            _js(driver, "window.jupyterapp.commands.execute('filebrowser:activate');")   # JupyterLab's default: opened
            _wait('the file browser to open', until,
                  lambda: _js(driver, "const b = document.querySelector('.jp-FileBrowser'); return !!(b && b.offsetParent);"))
        _js(driver, "window.jupyterapp.commands.execute('notebook:run-all-cells');")
        _wait('the app to appear (the cell imports torch and loads the tiny model)', until,
              lambda: driver.find_elements(By.CSS_SELECTOR, '.stylus-app button') or _cell_error(driver))
        run = [b for b in driver.find_elements(By.CSS_SELECTOR, '.stylus-app button') if b.text.strip() == 'Run']
        if not run: raise CheckFailed('the app has no Run button')
        t0, seen = time.monotonic(), set()
        run[0].click()
        def finished():
            bar = _js(driver, "const p = document.querySelector('.stylus-app .progress-bar'); return p ? p.style.width : null;")
            if bar: seen.add(bar)
            status = _js(driver, "return [...document.querySelectorAll('.stylus-app .widget-html')].map(e => e.textContent).join(' | ');")
            return 'done in' in status or _errors(driver)
        _wait('the result', until, finished)
        took = time.monotonic() - t0
        time.sleep(1)   # let the players and images render
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        _js(driver, "document.querySelector('.stylus-app').scrollIntoView();")
        driver.save_screenshot(str(screenshot))
        if errors := _errors(driver): raise CheckFailed(f'the app shows an error: {errors}')
        players = _js(driver, "return [...document.querySelectorAll('.stylus-app audio')].filter(a => a.controls && a.offsetHeight > 10).length;")
        if players < 3: raise CheckFailed(f'{players} audio players in the app; expected the content, the style and the result')
        result = driver.find_elements(By.XPATH, "//*[contains(@class,'stylus-app')]//h4[text()='result']/following::audio")
        if not result or not result[0].size['height']: raise CheckFailed('the result has no audio player')
        title = _js(driver, "const h = [...document.querySelectorAll('.stylus-app b')].map(b => b.textContent).filter(t => t.includes(' in the style')); return h[0] || '';")
        if ' in the style of ' not in title or title.rstrip().endswith('style of'): raise CheckFailed(f'the result title does not name the style: {title!r}')
        _uploads(driver, folder, until)
        took2 = _scheduled_run(driver, until)
        severe = [e['message'] for e in driver.get_log('browser') if e['level'] == 'SEVERE']
        if severe: raise CheckFailed(f'{len(severe)} browser console error(s): ' + ' || '.join(severe)[:600])
        if problems := _js(driver, LAYOUT_JS): raise CheckFailed('layout with the file browser open: ' + '; '.join(problems)[:600])
        return (f'{players} players, the result in {took:.1f} s after Run (progress seen at {len(seen)} widths), '
                f'upload errors shown and cleared, a scheduled run in {took2:.1f} s, file browser open, layout fits, no console errors; '
                f'screenshot {screenshot}')
    finally:
        if driver is not None:
            try: driver.quit()
            except Exception: pass
        if server is not None: _stop(server)
        shutil.rmtree(folder, ignore_errors=True)


def _tone(path: Path) -> Path:
    "A one-second 440 Hz WAV at 22050 Hz (standard library only)."
    import math, struct, wave
    with wave.open(str(path), 'wb') as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(22050)
        w.writeframes(b''.join(struct.pack('<h', int(12000 * math.sin(2 * math.pi * 440 * i / 22050))) for i in range(22050)))
    return path


def _uploads(driver, folder: Path, until: float):
    "Upload a text file as the content (its error must show under the pickers, the results stay), then a WAV (it must clear)."
    from selenium.webdriver.common.by import By
    (folder/'notes.txt').write_text('not audio at all')
    # ipywidgets' upload button clicks a file input that is not in the page, which opens the system's file dialog;
    # a person picks a file there. Here that click puts the input on the page instead, and selenium types the path.
    _js(driver, """const click = HTMLInputElement.prototype.click;
        HTMLInputElement.prototype.click = function () {
          if (this.type !== 'file') return click.call(this);
          this.id = 'stylus-check-file'; this.style.display = 'block'; document.body.appendChild(this); };""")
    def pick():
        driver.find_elements(By.CSS_SELECTOR, '.stylus-app .widget-upload')[0].click()   # the content's upload button
        return _wait('the file input', until, lambda: driver.find_elements(By.ID, 'stylus-check-file'))[0]
    pick().send_keys(str(folder/'notes.txt'))
    shown = _wait('the upload error', until, lambda: _errors(driver))
    if 'Cannot decode the upload notes.txt' not in shown or 'BytesIO' in shown:
        raise CheckFailed(f'the upload error does not name the file plainly: {shown!r}')
    players = _js(driver, "return document.querySelectorAll('.stylus-app audio').length;")
    if players < 3: raise CheckFailed('a failed upload removed the last results')
    pick().send_keys(str(_tone(folder/'tone.wav')))
    try: _wait('a good upload to clear the upload error', min(until, time.monotonic() + 30), lambda: not _errors(driver) and _js(
        driver, "return [...document.querySelectorAll('.stylus-app select')].some(s => s.selectedOptions[0] && s.selectedOptions[0].text.replace(/\\s+/g, ' ') === 'tone.wav (upload)');"))
    except CheckFailed as e:
        sel = _js(driver, "return [...document.querySelectorAll('.stylus-app select')].map(s => s.selectedOptions[0] && s.selectedOptions[0].text);")
        raise CheckFailed(f'{e} (the error line: {_errors(driver)!r}; the pickers show {sel})') from None


def _scheduled_run(driver, until: float) -> float:
    "Tick 'change style over time', type its end (the content is the 1-second uploaded tone now), run: the result fades one style into the other."
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    active = "return [...document.querySelectorAll('.stylus-app .widget-slider')].filter(s => s.textContent.includes('weight') && !s.querySelector('[disabled]')).length;"
    before = _js(driver, active)
    driver.find_element(By.CSS_SELECTOR, '.stylus-app .stylus-schedule input[type=checkbox]').click()
    _wait('the weight sliders to grey out under the schedule', min(until, time.monotonic() + 20), lambda: _js(driver, active) == 0)
    end = driver.find_element(By.CSS_SELECTOR, '.stylus-app .stylus-schedule-end input')
    end.send_keys(Keys.CONTROL, 'a'); end.send_keys('1', Keys.TAB)   # the field commits on leaving it
    t0 = time.monotonic()
    [b for b in driver.find_elements(By.CSS_SELECTOR, '.stylus-app button') if b.text.strip() == 'Run'][0].click()
    title = "return [...document.querySelectorAll('.stylus-app b')].map(b => b.textContent).filter(t => t.includes(', then ')).join('');"
    _wait('the scheduled result', until, lambda: _js(driver, title) or _errors(driver))
    if errors := _errors(driver): raise CheckFailed(f'the scheduled run shows an error: {errors}')
    if ' in the style of ' not in _js(driver, title): raise CheckFailed(f'the scheduled result title does not name both styles: {_js(driver, title)!r}')
    if not before: raise CheckFailed('no weight slider was active before the schedule was ticked')
    return time.monotonic() - t0


def _raise(msg):
    raise CheckFailed(msg)


def _errors(driver) -> str:
    "The text of the app's error lines, if any."
    return _js(driver, "return [...document.querySelectorAll('.stylus-app .stylus-error')].map(e => e.textContent.trim()).filter(t => t).join(' | ');")


def _cell_error(driver):
    "Fail at once if the notebook's cell raised (its traceback is in the output)."
    err = _js(driver, "const e = document.querySelector('.jp-OutputArea-output[data-mime-type=\"application/vnd.jupyter.stderr\"]'); return e ? e.textContent : null;")
    if err and ('Error' in err or 'Traceback' in err): raise CheckFailed('the notebook cell failed: ' + err.strip().splitlines()[-1][:300])
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--timeout', type=float, default=180, help='seconds for the whole check (default 180; a backstop stops it 30 s later)')
    ap.add_argument('--screenshot', type=Path, default=ROOT/'.docs-check'/'app.png', help='where to save the screenshot')
    ap.add_argument('--keep-log', action='store_true', help="print JupyterLab's log at the end")
    args = ap.parse_args()
    def stop(signum, frame): raise KeyboardInterrupt   # SIGTERM too: the finally blocks stop the server
    signal.signal(signal.SIGTERM, stop)
    def late(signum, frame): raise CheckFailed(f'no answer within {args.timeout + 30:.0f} s (a step hung)')
    signal.signal(signal.SIGALRM, late); signal.alarm(int(args.timeout) + 30)   # a backstop if one browser call hangs
    with tempfile.TemporaryFile('w+') as log:
        try: line, rc = f'app check: passed: {check(args.timeout, args.screenshot, log)}', 0
        except CheckFailed as e: line, rc = f'app check: failed: {e}', 1
        except KeyboardInterrupt: line, rc = 'app check: failed: interrupted', 1
        except Exception as e: line, rc = f'app check: failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""}', 1
        if args.keep_log: log.seek(0); print('\n'.join(log.read().splitlines()[-40:]), file=sys.stderr)
    print(line)
    sys.exit(rc)


if __name__ == '__main__':
    main()
