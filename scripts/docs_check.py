#!/usr/bin/env python
"""Docs check: render every page of the Stylus site the way nbdev feeds it to Quarto, without Quarto.

Run from anywhere: `python scripts/docs_check.py` (CI runs it after the notebook tests). Exit status 0 when every
page processes and renders and every public name has a docstring; 1 otherwise, with a line per problem naming
the page or the object.

The steps:

1. **Docstrings.** Every module of the `stylus` package is imported; each name in its `__all__` (nbdev writes
   `__all__` from the exported cells) that is a function or a class must have its own docstring, and so must
   every public method (plain, class or static method, or property) defined on such a class. (A dataclass's
   generated `Name(field=...)` text does not count as a docstring.)
2. **Execution** (`--execute`, default `screenshots`): the notebooks that are executed are run with nbconvert's
   `ExecutePreprocessor` (a `python3` kernel of this environment, working folder `nbs/`, 10 minutes per cell at
   most), skipping cells flagged with one of settings.ini's `tst_flags` (`slow gpu sd15`) or `#| eval: false`,
   as `nbdev_test` does. The others are rendered with the outputs they are committed with, which is what Quarto
   shows on the real site (nbdev's Quarto config does not execute notebooks).
   Which ones: with every notebook executed (`--execute all`) the check took 671 s on the 2-core development
   machine (577 s of it executing 12 notebooks, the tiny random-weight model standing in for SD 1.5), past the
   10 minutes it may take, and nearly doubling CI's time for cells `nbdev_test` already runs. So by default
   only the screenshotted pages are executed, the home page (`index`) and the tutorial (`11_tutorial`), so that
   their plots and players show (about 1.5 minutes); the rest keep their committed outputs.
   `--execute all` executes every notebook, `--execute none` none.
3. **Processing**, with nbdev's own code: each notebook goes through `nbdev.serve_drv.main` with nbdev's
   `FilterDefaults` processors, exactly what `nbdev_proc_nbs` runs per notebook before Quarto (front matter from
   `# Title` / `> summary`, `show_doc` cells added and executed, exported and `#| hide` cells removed, links
   added). `nbdev_proc_nbs` itself is not called because it first installs Quarto (which cannot be had here)
   and rewrites `_modidx.py`; it also stops at the first failing notebook, where this check reports every one.
   The processed notebooks go to `.docs-check/proc/`.
4. **Rendering**: each processed page becomes `.docs-check/site/<output-file>.html` with nbconvert's
   `HTMLExporter` (lab template), after translating what Quarto would have interpreted: the front matter becomes
   the title block; `#| echo: false`, `#| output: asis` (show_doc), `#| include: false` and `#| output: false`
   are honoured and `#|` lines are hidden; pandoc link attributes (`[source](url){target=...}`) become HTML;
   TeX math is drawn to inline SVG with matplotlib's mathtext (MathJax would come from a CDN, which the check
   does not rely on); links into the site point at the local files; a sidebar is built from `nbs/sidebar.yml`.
   Entries of sidebar.yml with no notebook behind them are reported as notes (Quarto only warns about them).
5. **Screenshots** of the home page and the tutorial with headless Chromium into `.docs-check/<page>.png`,
   1280 x 2400. Without Chromium (`/usr/bin/chromium` or `chromium` on PATH) they are skipped with a note.
   While `nbs/11_tutorial.ipynb` does not exist yet, its screenshot is skipped with a note; once it exists it is
   checked like any other page.

It ends with a summary: pages rendered, seconds per step, screenshots written.
"""
from __future__ import annotations
import argparse, base64, concurrent.futures as cf, html, importlib, inspect, io, json, multiprocessing, os, pkgutil
import re, shutil, subprocess, sys, tempfile, time, traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / '.docs-check'
SHOTS = ['index', '11_tutorial']    # notebooks (stems) whose pages are screenshotted
TUTORIAL = '11_tutorial'

def _rel(p:Path) -> str: return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)
def note(msg): print(f"docs-check: note: {msg}", flush=True)
def say(msg): print(f"docs-check: {msg}", flush=True)

# ---------------------------------------------------------------------------------------------------- docstrings
def _own_doc(obj) -> str:
    "The object's own docstring, not counting a dataclass's generated signature."
    doc = (getattr(obj, '__doc__', None) or '').strip()
    if inspect.isclass(obj) and doc.startswith(f'{obj.__name__}('): return ''
    return doc

def missing_docstrings(package:str='stylus') -> list[str]:
    "Public functions, classes and methods of `package` (per each module's `__all__`) that have no docstring."
    pkg, bad = importlib.import_module(package), []
    mods = [pkg] + [importlib.import_module(m.name) for m in pkgutil.walk_packages(pkg.__path__, f'{package}.')
                    if not m.name.rsplit('.', 1)[-1].startswith('_')]
    for mod in mods:
        for name in getattr(mod, '__all__', []):
            obj = getattr(mod, name, None)
            if obj is None: bad.append(f"{mod.__name__}.{name}: listed in __all__ but not defined"); continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)): continue   # constants such as PRESETS
            if getattr(obj, '__module__', mod.__name__) != mod.__name__: continue  # re-exported; checked at home
            if not _own_doc(obj): bad.append(f"{mod.__name__}.{name}: no docstring")
            if not inspect.isclass(obj): continue
            for attr, v in vars(obj).items():
                if attr.startswith('_'): continue
                f = v.fget if isinstance(v, property) else getattr(v, '__func__', v)
                if not (inspect.isfunction(f) or isinstance(v, property)): continue
                if not (getattr(f, '__doc__', None) or '').strip() and not inspect.getdoc(getattr(obj, attr, None)):
                    bad.append(f"{mod.__name__}.{name}.{attr}: no docstring")
    return sorted(set(bad))

# ----------------------------------------------------------------------------------------------------- execution
_re_dir = re.compile(r'^\s*#\|\s*([\w-]+:?)\s*(.*?)\s*$')

def directives(src:str) -> dict[str, str]:
    "The `#| name: value` lines at the top of a cell (nbdev's and Quarto's cell options)."
    out = {}
    for line in src.splitlines():
        if not line.strip(): continue
        m = _re_dir.match(line)
        if not m: break
        out[m.group(1).rstrip(':')] = m.group(2)
    return out

def execute(src:Path, dst:Path, skip_flags:set[str], timeout:int=600):
    "Execute notebook `src` into `dst` in a fresh kernel, skipping flagged cells as nbdev_test does."
    import nbformat
    from nbconvert.preprocessors import ExecutePreprocessor
    class Exec(ExecutePreprocessor):
        def preprocess_cell(self, cell, resources, index):
            if cell.cell_type == 'code':
                d = directives(cell.source)
                if d.keys() & skip_flags or d.get('eval', '').lower() == 'false': return cell, resources
            return super().preprocess_cell(cell, resources, index)
    os.environ['PATH'] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get('PATH', '')])  # the kernel's `python`
    nb = nbformat.read(src, as_version=4)
    Exec(timeout=timeout, kernel_name='python3').preprocess(nb, {'metadata': {'path': str(src.parent)}})
    nbformat.write(nb, dst)

# ---------------------------------------------------------------------------------------------------- processing
def _process(src:str, dst:str) -> str|None:
    "Run nbdev's docs processors on one notebook (as `nbdev_proc_nbs` does); the error text, or None."
    main_module = sys.modules['__main__']   # IPython's shell (show_doc execution) replaces it; the pool needs it back
    try:
        os.chdir(ROOT)
        import nbdev.serve_drv
        from nbdev.processors import FilterDefaults
        nbdev.serve_drv.main((Path(src), Path(dst), FilterDefaults))
    except BaseException as e:
        cause = f"\n  caused by {type(e.__cause__).__name__}: {e.__cause__}" if e.__cause__ else ''
        return f"{type(e).__name__}: {e}{cause}"
    finally: sys.modules['__main__'] = main_module

# ----------------------------------------------------------------------------------------------------- rendering
_re_fence = re.compile(r'(^```.*?^```[ \t]*$|`[^`\n]+`)', re.M | re.S)   # code: math and links stay as they are
_re_display = re.compile(r'\$\$(.+?)\$\$', re.S)
_re_inline = re.compile(r'(?<![\\$\w])\$(?=\S)([^$\n]+?)(?<=\S)\$(?![\w$])')
_re_attr_link = re.compile(r'\[([^\]\n]+)\]\(([^)\s]+)\)\{([^}\n]*)\}')

_re_bare_arg = re.compile(r'\\(sqrt|math[a-z]+|tilde|hat|bar|vec|dot|ddot|overline|widehat|widetilde)\s+([A-Za-z0-9])')
_TEX = [(re.compile(r'\\[bB]igg?[lr]?(?![a-zA-Z])'), ''), (re.compile(r'\\[lr]Vert(?![a-zA-Z])'), r'\\Vert'),
        (re.compile(r'\\[td]frac(?![a-zA-Z])'), r'\\frac'), (re.compile(r'\\le(?![a-zA-Z])'), r'\\leq'),
        (re.compile(r'\\ge(?![a-zA-Z])'), r'\\geq')]

def _mathtext_dialect(t:str) -> str:
    "The few TeX spellings mathtext does not know, rewritten into ones it does (`\\sqrt d`, `\\big(`, `\\le`...)."
    t = _re_bare_arg.sub(lambda m: f'\\{m.group(1)}{{{m.group(2)}}}', t)
    for r, s in _TEX: t = r.sub(s, t)
    return t

class Math:
    "TeX to inline SVG with matplotlib's mathtext; what it cannot draw stays as code and is counted."
    def __init__(self): self.cache, self.failed = {}, []
    def svg(self, tex:str, display:bool) -> str:
        key = (tex, display)
        if key not in self.cache:
            import matplotlib; matplotlib.use('Agg')
            from matplotlib import mathtext
            from matplotlib.font_manager import FontProperties
            t = _mathtext_dialect(' '.join(tex.split()))
            try:
                buf = io.BytesIO()
                mathtext.math_to_image(f'${t}$', buf, prop=FontProperties(size=15 if display else 12), dpi=100, format='svg')
                data = base64.b64encode(buf.getvalue()).decode()
                style = 'display:block;margin:0.6em auto' if display else 'vertical-align:middle'
                self.cache[key] = f'<img class="math" alt="{html.escape(t)}" style="{style}" src="data:image/svg+xml;base64,{data}">'
            except Exception:
                self.failed.append(t)
                self.cache[key] = f'<code class="math-tex">{html.escape(t)}</code>'
        return self.cache[key]

def quarto_markdown(md:str, math:Math) -> str:
    "Markdown as Quarto reads it, turned into what nbconvert's markdown renders: math, link attributes."
    parts = _re_fence.split(md)
    for i in range(0, len(parts), 2):   # even parts are outside code
        s = _re_display.sub(lambda m: math.svg(m.group(1), True), parts[i])
        s = _re_inline.sub(lambda m: math.svg(m.group(1), False), s)
        parts[i] = _re_attr_link.sub(lambda m: f'<a href="{html.escape(m.group(2))}" {m.group(3)}>{m.group(1)}</a>', s)
    return ''.join(parts)

def _text(x) -> str: return ''.join(x) if isinstance(x, list) else (x or '')

def quarto_cells(nb, math:Math) -> dict:
    "Turn a processed notebook's Quarto-only parts into plain cells, in place; returns its front matter."
    import yaml, nbformat
    fm, cells = {}, []
    for c in nb.cells:
        src = _text(c.source)
        if c.cell_type == 'raw' and src.lstrip().startswith('---') and not fm:
            fm = yaml.safe_load(src.strip().strip('-')) or {}
            head = f"# {fm.get('title', '')}" if fm.get('title') else ''
            if fm.get('description'):
                desc = re.sub(r'`([^`]+)`', r'<code>\1</code>', html.escape(str(fm['description']), quote=False))
                head += f'\n\n<div class="description">{desc}</div>'
            if head: cells.append(nbformat.v4.new_markdown_cell(head))
            continue
        if c.cell_type == 'markdown':
            c.source = quarto_markdown(src, math); cells.append(c); continue
        if c.cell_type != 'code': cells.append(c); continue
        d = directives(src)
        if d.get('include', '').lower() == 'false': continue
        if d.get('output', '').lower() == 'asis':          # show_doc: the output is markdown for the page
            for o in c.get('outputs', []):
                md = _text(o.get('data', {}).get('text/markdown', ''))
                if md: cells.append(nbformat.v4.new_markdown_cell(quarto_markdown(md, math)))
            continue
        c.source = '\n'.join(l for l in src.splitlines() if not _re_dir.match(l)).strip()
        if d.get('output', '').lower() == 'false': c.outputs = []
        for o in c.get('outputs', []):
            if 'text/markdown' in o.get('data', {}): o['data']['text/markdown'] = quarto_markdown(_text(o['data']['text/markdown']), math)
        if d.get('echo', '').lower() == 'false' or not c.source: c.metadata.setdefault('transient', {})['remove_source'] = True
        if c.source or c.get('outputs'): cells.append(c)
    nb.cells = cells
    return fm

def sidebar_items(nbs:Path) -> list:
    "sidebar.yml's entries as (section or None, notebook file name)."
    import yaml
    data = yaml.safe_load((nbs / 'sidebar.yml').read_text())
    out = []
    def walk(items, section):
        for it in items:
            if isinstance(it, str): out.append((section, it))
            elif isinstance(it, dict) and 'contents' in it: walk(it['contents'], it.get('section'))
            elif isinstance(it, dict) and 'href' in it: out.append((section, it['href']))
    walk(data['website']['sidebar']['contents'], None)
    return out

def sidebar_html(items, pages:dict, current:str) -> str:
    "The site's sidebar: sections and page titles, linking the local files."
    rows, section = [], object()
    for sec, f in items:
        stem = Path(f).stem
        if stem not in pages: continue
        if sec != section and sec: rows.append(f'<div class="dc-section">{html.escape(sec)}</div>')
        section = sec
        out, title = pages[stem]
        cls = ' class="dc-current"' if stem == current else ''
        rows.append(f'<a{cls} href="{out}">{html.escape(title)}</a>')
    return '\n'.join(rows)

_CSS = """
body { margin: 0; }
.dc-top { background: #2780e3; color: white; padding: 10px 24px; font: 600 18px system-ui, sans-serif; }
.dc-layout { display: flex; align-items: flex-start; }
.dc-sidebar { width: 230px; flex: none; padding: 18px 12px 18px 24px; font: 14px system-ui, sans-serif; position: sticky; top: 0; }
.dc-sidebar a { display: block; padding: 3px 0; color: #343a40; text-decoration: none; }
.dc-sidebar a.dc-current { color: #2780e3; font-weight: 600; }
.dc-section { margin-top: 12px; font-weight: 600; color: #6c757d; }
.dc-main { flex: 1; min-width: 0; max-width: 1000px; }
.dc-main main { padding-top: 8px !important; }
img.math { max-width: 100%; }
code.math-tex { color: #6c3; }
.jp-RenderedHTMLCommon table { border-collapse: collapse; margin: 0.5em 0; }
.jp-RenderedHTMLCommon th, .jp-RenderedHTMLCommon td { border: 1px solid #ccc; padding: 4px 8px; }
.jp-RenderedMarkdown pre { background: #f5f5f5; padding: 8px 10px; margin: 0.6em 0 0.9em; border-radius: 3px; }
"""

def render(proc:Path, site:Path, nbs:Path, sidebar:list, cfg) -> tuple[list[str], dict]:
    "Render every processed notebook in `proc` to `site`; returns the failures and {stem: (file, title)}."
    import nbformat
    from nbconvert import HTMLExporter
    exporter = HTMLExporter(template_name='lab', exclude_input_prompt=True, exclude_output_prompt=True)
    math, failures, pages, bodies = Math(), [], {}, {}
    for p in sorted(proc.glob('*.ipynb')):
        try:
            nb = nbformat.read(p, as_version=4)
            fm = quarto_cells(nb, math)
            out = fm.get('output-file') or f'{p.stem}.html'
            title = str(fm.get('title') or p.stem)
            body, _ = exporter.from_notebook_node(nb, resources={'metadata': {'name': title}})
            pages[p.stem], bodies[p.stem] = (out, title), body
        except Exception as e:
            failures.append(f"{p.stem}: does not render ({type(e).__name__}: {e})")
    site_url = f"{cfg.doc_host.rstrip('/')}{cfg.doc_baseurl.rstrip('/')}/"
    style = _CSS + (nbs / 'styles.css').read_text() if (nbs / 'styles.css').exists() else _CSS
    for stem, body in bodies.items():
        body = body.replace(f'href="{site_url}', 'href="')
        body = re.sub(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>', '', body)   # CDN scripts (MathJax, require.js)
        nav = sidebar_html(sidebar, pages, stem)
        body = re.sub(r'(<body[^>]*>)', lambda m: m.group(1) + f'<div class="dc-top">{html.escape(cfg.title)}</div>'
                      f'<div class="dc-layout"><nav class="dc-sidebar">{nav}</nav><div class="dc-main">', body, count=1)
        body = body.replace('</body>', '</div></div></body>').replace('</head>', f'<style>{style}</style></head>', 1)
        (site / pages[stem][0]).write_text(body, encoding='utf-8')
    if math.failed: note(f"{len(math.failed)} formula(s) mathtext cannot draw were left as TeX: {sorted(set(math.failed))[:5]}")
    return failures, pages

# --------------------------------------------------------------------------------------------------- screenshots
def chromium() -> str|None:
    for c in ('/usr/bin/chromium', shutil.which('chromium'), shutil.which('chromium-browser'), shutil.which('google-chrome')):
        if c and Path(c).exists(): return c

def screenshot(browser:str, page:Path, png:Path, timeout:int=120) -> str|None:
    "Screenshot `page` with headless Chromium into `png`; the error text, or None."
    with tempfile.TemporaryDirectory() as profile:
        cmd = [browser, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars',
               f'--user-data-dir={profile}', f'--screenshot={png}', '--window-size=1280,2400', page.as_uri()]
        png.unlink(missing_ok=True)
        try: r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired: return f"chromium took more than {timeout} s"
        if not png.exists() or png.stat().st_size == 0: return f"chromium wrote no screenshot (exit {r.returncode}): {r.stderr.strip()[-500:]}"

# ---------------------------------------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--execute', choices=['screenshots', 'all', 'none'], default='screenshots',
                    help='which notebooks to execute before rendering (default: the screenshotted pages)')
    ap.add_argument('--timeout', type=int, default=600, help='seconds per executed cell')
    ap.add_argument('--workers', type=int, default=2, help='processes for nbdev processing')
    ap.add_argument('--out', default=str(OUT), help='output folder (default .docs-check/ in the repository; emptied first)')
    args = ap.parse_args(argv)
    os.chdir(ROOT)
    out = Path(args.out).resolve()
    from nbdev.config import get_config
    import yaml
    cfg = get_config()
    nbs, t_all, times, problems = Path(cfg.nbs_path), time.perf_counter(), {}, []
    if out.exists(): shutil.rmtree(out)
    executed, proc, site = out / 'executed', out / 'proc', out / 'site'
    for d in (executed, proc, site): d.mkdir(parents=True)
    notebooks = sorted(p for p in nbs.glob('*.ipynb') if not p.name.startswith(('_', '.')))

    # site configuration Quarto reads
    for y in ('_quarto.yml', 'nbdev.yml', 'sidebar.yml'):
        try: yaml.safe_load((nbs / y).read_text())
        except Exception as e: problems.append(f"nbs/{y}: not valid YAML ({e})")
    sidebar = sidebar_items(nbs) if (nbs / 'sidebar.yml').exists() else []
    for sec, f in sidebar:
        if not (nbs / f).exists():
            note(f"sidebar.yml lists {f}, which does not exist yet" + (' (its page is not rendered)' if Path(f).stem != TUTORIAL else
                 ' (the tutorial: its screenshot is skipped until it exists)'))
    listed = {Path(f).stem for _, f in sidebar}
    for p in notebooks:
        if p.stem not in listed: note(f"{p.name} is not in sidebar.yml, so the site has no link to it")

    # 1. docstrings
    t = time.perf_counter()
    bad = missing_docstrings()
    problems += [f"docstring: {b}" for b in bad]
    times['docstrings'] = time.perf_counter() - t
    say(f"docstrings: {'all public names documented' if not bad else f'{len(bad)} missing'} ({times['docstrings']:.1f} s)")

    # 2. execution
    t = time.perf_counter()
    flags = set(cfg.get('tst_flags', '').split())
    todo = {'all': [p.stem for p in notebooks], 'none': [], 'screenshots': SHOTS}[args.execute]
    sources, ran = {p.stem: p for p in notebooks}, []
    for p in notebooks:
        if p.stem not in todo: continue
        t1 = time.perf_counter()
        try:
            execute(p, executed / p.name, flags, args.timeout)
            sources[p.stem] = executed / p.name; ran.append(p.stem)
            say(f"executed {p.name} ({time.perf_counter() - t1:.1f} s)")
        except Exception as e:
            msg = [l for l in re.sub(r'\x1b\[[0-9;]*m', '', str(e)).splitlines() if l.strip()]
            problems.append(f"{p.stem}: does not execute: {type(e).__name__}: " + '\n      '.join(msg[-4:])[:1500])
    times['execution'] = time.perf_counter() - t

    # 3. processing with nbdev's processors, one process per notebook at a time
    t = time.perf_counter()
    with cf.ProcessPoolExecutor(max_workers=args.workers, mp_context=multiprocessing.get_context('spawn')) as ex:
        futs = {ex.submit(_process, str(src.resolve()), str(proc / f'{stem}.ipynb')): stem for stem, src in sources.items()}
        for f in cf.as_completed(futs):
            err = f.result()
            if err: problems.append(f"{futs[f]}: does not process (nbdev): {err[:1500]}")
    times['processing'] = time.perf_counter() - t
    say(f"processed {len(list(proc.glob('*.ipynb')))} of {len(sources)} notebooks ({times['processing']:.1f} s)")

    # 4. rendering
    t = time.perf_counter()
    failures, pages = render(proc, site, nbs, sidebar, cfg)
    problems += failures
    times['rendering'] = time.perf_counter() - t
    say(f"rendered {len(pages)} pages into {_rel(site)} ({times['rendering']:.1f} s)")

    # 5. screenshots
    t, shots = time.perf_counter(), []
    browser = chromium()
    if browser is None: note("chromium is not installed: screenshots skipped (CI installs it with apt)")
    else:
        for stem in SHOTS:
            if stem == TUTORIAL and not (nbs / f'{stem}.ipynb').exists():
                note(f"nbs/{stem}.ipynb does not exist yet: its screenshot is skipped"); continue
            if stem not in pages: problems.append(f"{stem}: no page to screenshot"); continue
            png = out / f'{stem}.png'
            err = screenshot(browser, site / pages[stem][0], png)
            if err: problems.append(f"{stem}: screenshot failed: {err}")
            else: shots.append(png)
    times['screenshots'] = time.perf_counter() - t

    total = time.perf_counter() - t_all
    say("summary: " + f"{len(pages)} of {len(notebooks)} pages rendered in {total:.0f} s (" +
        ', '.join(f'{k} {v:.0f} s' for k, v in times.items()) + f"); executed: {', '.join(ran) or 'none'}; "
        f"screenshots: {', '.join(_rel(s) for s in shots) or 'none'}")
    if problems:
        print(f"docs-check: FAILED, {len(problems)} problem(s):")
        for p in problems: print(f"  - {p}")
        return 1
    say("passed")
    return 0

if __name__ == '__main__': sys.exit(main())
