"""Build the docs site from nbs/*.ipynb and nbs/tutorials/*.ipynb into _docs/, offline and without Quarto (which cannot be installed here).

    python tools/docs.py --execute        # run every notebook (as nbdev_test does) to embed outputs and figures
    python tools/docs.py                  # quick: outputs as stored; only the cells `show_doc` needs are run
    python tools/docs.py --execute --flags slow   # also run the cells flagged `#| slow`
    python tools/docs.py --out DIR --n_workers 2

Each notebook goes through nbdev's own docs processors (`nbdev.processors.FilterDefaults`, what `nbdev_docs` hands
to Quarto): `#| hide`, `#| export` and `#| exporti` cells are dropped, every exported function or class gets a
`show_doc` (signature with its docments, docstring), symbols in backticks are linked. With `--execute` the notebook
is first run cell by cell in execnb's `CaptureShell` with the working directory in nbs/, skipping what
`nbdev_test` skips (`#| eval: false`, cells flagged with settings.ini's `tst_flags`). nbconvert's `HTMLExporter`
renders the result (figures are data URIs, so every page is one self-contained file), and every page gets the
same top bar and sidebar. index.ipynb becomes index.html; any other notebook `<default_exp>.html`, or nbdev's name
for it (02_data.ipynb -> data.html) when it exports nothing. A failing cell fails the build with one line naming
the notebook and the cell, and then nothing is written; otherwise each page is written under a temporary name and
renamed into place.
"""
import time; T0 = time.time()
import argparse, ast, html, os, re, sys
from pathlib import Path
from urllib.parse import urljoin

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')   # albumentations' version check wants the network

from fastcore.parallel import parallel
from fastcore.utils import working_directory, num_cpus
from execnb.nbio import read_nb
from execnb.shell import CaptureShell
from nbdev.config import get_config
from nbdev.doclinks import _nbpath2html
from nbdev.process import NBProcessor, _mk_procs
from nbdev.processors import FilterDefaults, exec_show_docs, insert_warning, _default_exp, _show_docs, _ast_contains

class CellError(Exception): pass

def one_line(e) -> str:
    msg = (str(e).strip().splitlines() or [''])[0]
    return f"{type(e).__name__}: {msg}" if msg else type(e).__name__

def where(cell) -> str:
    "A cell as the notebook's author knows it: its number and id, or the `show_doc(...)` nbdev inserted."
    return f"cell {cell.orig_} (id {cell.get('id', '?')})" if 'orig_' in cell else f"`{cell.source.splitlines()[-1]}`"

def page_name(p:Path, nb) -> str:
    "index.ipynb -> index.html; an exporting notebook -> `<default_exp>.html`; otherwise nbdev's page name."
    if p.stem == 'index': return 'index.html'
    mod = _default_exp(nb)
    return f'{mod}.html' if mod else _nbpath2html(p).name

# ---- executing -----------------------------------------------------------------------------------------------
def run_cells(nb, skip_flags) -> CaptureShell:
    "Run `nb`'s code cells in a `CaptureShell`, storing their outputs, skipping what `nbdev_test` skips."
    k = CaptureShell(nb.path_)
    for i, cell in enumerate(nb.cells):
        cell.idx_ = i                                    # CaptureShell.cell wants it
        d = cell.directives_
        if (cell.cell_type != 'code' or 'nbdev_export(' in cell.source or skip_flags & d.keys()
            or d.get('eval:', [''])[0].lower() == 'false'): continue
        k.cell(cell)
        if k.exc: raise CellError(f"{where(cell)} raised {one_line(k.exc)}")
    return k

class run_added_show_docs(exec_show_docs):
    "Stands in for `exec_show_docs` after `run_cells`: runs the `show_doc` cells `add_show_docs` inserted, in the notebook's own shell."
    def __init__(self, nb, shell): self.nb, self.k = nb, shell
    def begin(self): self.k.run_cell('from nbdev.showdoc import show_doc')
    def __call__(self, cell):
        if not cell.get('has_sd'): return
        self.k.cell(cell)
        if self.k.exc: raise CellError(f"{where(cell)} raised {one_line(self.k.exc)}")

class exec_doc_cells(exec_show_docs):
    "nbdev's `exec_show_docs` (exported, import and show_doc cells), minus cells mixing imports with other code: they often need cells it skips."
    def __call__(self, cell):
        trees = cell.parsed_() if cell.cell_type == 'code' and cell.source else None
        if (trees and not cell.directives_.keys() & {'export', 'exports', 'exporti', 'exec_doc'} and not _show_docs(trees)
            and _ast_contains(trees, (ast.Import, ast.ImportFrom)) and _ast_contains(trees, (ast.Expr, ast.Assign))): return
        try: super().__call__(cell)
        except Exception as e: raise CellError(f"{where(cell)} raised {one_line(e.__cause__ or e)}") from None

# ---- rendering -----------------------------------------------------------------------------------------------
TEMPLATE = r"""{%- extends 'lab/index.html.j2' -%}
{#- offline: no require.js, widgets, MathJax or mermaid from a CDN; our CSS instead of JupyterLab's 240 kB -#}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block notebook_css -%}<style>{{ resources.css }}</style>{%- endblock notebook_css -%}
{%- block body_header -%}
<body>
<!--NAV-->
<main>
<header class="title-block"><h1 class="title">{{ resources.title | escape }}</h1>
{%- if resources.description %}<div class="description">{{ resources.description | markdown2html }}</div>{% endif -%}
</header>
{%- endblock body_header -%}
{%- block input_group -%}
{%- if cell.metadata.get('code_fold') -%}
<details class="code-fold"><summary>{{ cell.metadata.code_fold | escape }}</summary>{{ super() }}</details>
{%- else -%}{{ super() }}{%- endif -%}
{%- endblock input_group -%}
{%- block error -%}<div class="nb-error">{{ super() }}</div>{%- endblock error -%}
"""

CSS = """
body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #212529; }
a { color: #2a6db0; }
.topbar { position: fixed; top: 0; left: 0; right: 0; height: 48px; display: flex; align-items: center; gap: 1.5rem;
  padding: 0 1.2rem; background: #1f3a5f; z-index: 10; }
.topbar a { color: #fff; text-decoration: none; }
.topbar .site { font-weight: 600; font-size: 1.1rem; }
.topbar .desc { color: #c9d6e6; font-size: .85rem; }
.sidebar { position: fixed; top: 48px; bottom: 0; left: 0; width: 230px; overflow-y: auto; padding: 1rem .8rem;
  background: #f6f8fa; border-right: 1px solid #dde2e7; box-sizing: border-box; }
.sidebar h4 { margin: 1rem 0 .3rem; font-size: .75rem; text-transform: uppercase; letter-spacing: .05em; color: #6c757d; }
.sidebar ul { list-style: none; margin: 0; padding: 0; }
.sidebar a { display: block; padding: .2rem .5rem; border-radius: 4px; text-decoration: none; color: #343a40; font-size: .92rem; }
.sidebar a:hover { background: #e7ecf1; }
.sidebar a.active { background: #1f3a5f; color: #fff; }
main { margin: 48px 0 0 230px; padding: 1.5rem 2.5rem 4rem; max-width: 980px; }
.title-block { border-bottom: 1px solid #dde2e7; margin-bottom: 1.2rem; }
.title-block h1 { margin-bottom: .2rem; }
.description { color: #5a6570; font-size: 1.1rem; }
h1, h2, h3, h4 { line-height: 1.25; scroll-margin-top: 60px; }
.anchor-link { display: none; }
.jp-Cell { margin: .6rem 0; }
.jp-InputArea-editor { background: #f6f8fa; border: 1px solid #e3e7eb; border-radius: 6px; }
.highlight pre, .jp-RenderedText pre { margin: 0; padding: .6rem .8rem; overflow-x: auto; font: 13.5px/1.45 ui-monospace, Menlo, Consolas, monospace; }
.jp-OutputArea { margin-top: .3rem; }
.jp-OutputArea-output { overflow-x: auto; }
.jp-RenderedText pre { background: #fff; border-left: 3px solid #dde2e7; }
.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"] pre { background: #fff8e6; border-left-color: #f0c36d; }
.nb-error pre { background: #fde8e8 !important; border-left-color: #d9534f !important; }
.jp-OutputArea-output img { max-width: 100%; }
.jp-InputPrompt, .jp-OutputPrompt { display: none; }
details.code-fold summary { cursor: pointer; color: #5a6570; font-size: .9rem; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .9rem; }
th, td { border: 1px solid #dde2e7; padding: .25rem .6rem; text-align: left; }
th { background: #f6f8fa; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .9em; }
:not(pre) > code { background: #f1f3f5; padding: .05em .3em; border-radius: 3px; }
blockquote { margin: .5rem 0; padding: .2rem 1rem; border-left: 4px solid #c9d6e6; background: #f8fafc; }
hr { border: 0; border-top: 1px solid #dde2e7; margin: 2rem 0 1rem; }
.jp-RenderedMarkdown.jp-OutputArea-output > hr + p { float: right; margin: 0; font-size: .8rem; }   /* show_doc's source link */
"""

_re_qdir = re.compile(r'^#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')       # Quarto `#| key: value` cell options nbdev leaves in place
_re_attr_link = re.compile(r'\[([^\]]+)\]\(([^)\s]+)\)\{([^}]*)\}')   # Pandoc `[text](url){attrs}`, as show_doc writes it

_re_code_link = re.compile(r'\[(`[^`]+`)\]\([^)\s]+\)')

def attr_links(md:str) -> str:
    "Drop Pandoc link attributes (`[source](url){target=...}`): nbconvert's markdown would print them."
    return _re_attr_link.sub(r'[\1](\2)', md)

def unlink_fences(md:str) -> str:
    "`add_links` links backticked names on every line of a markdown output, inside show_doc's signature too: undo it in code."
    return '```'.join(_re_code_link.sub(r'\1', part) if i % 2 else part for i, part in enumerate(md.split('```')))

def apply_cell_options(nb):
    "Turn what Quarto would do with the cell options left in the sources into nbformat cells nbconvert renders."
    import nbformat
    cells = []
    for i, c in enumerate(nb.cells):
        cid = c.get('id') or f'docs-{i}'    # nbdev's inserted show_doc cells have none
        if c.cell_type == 'raw' and c.source.startswith('---'): continue   # nbdev's frontmatter: our title block shows it
        src, opts = c.get('source', ''), {}
        if c.cell_type == 'code':
            lines = src.splitlines()
            while lines and (m := _re_qdir.match(lines[0])): opts[m[1]] = m[2].strip('"\''); lines.pop(0)
            src = '\n'.join(lines).strip('\n')
        if c.cell_type == 'markdown': src = attr_links(src)
        if opts.get('include') == 'false': continue
        outs = [] if opts.get('output') == 'false' else list(c.get('outputs', []))
        for o in outs:                                 # execnb keeps texts as lists of lines; nbconvert wants strings
            if isinstance(o.get('text'), list): o['text'] = ''.join(o['text'])
            for k, v in o.get('data', {}).items():
                if isinstance(v, list): o['data'][k] = ''.join(v)
            if 'text/markdown' in o.get('data', {}): o['data']['text/markdown'] = unlink_fences(attr_links(o['data']['text/markdown']))
        meta = {k: v for k, v in c.get('metadata', {}).items() if k in ('tags', 'language', 'jupyter')}
        if c.cell_type != 'code':
            extra = {'attachments': c['attachments']} if 'attachments' in c else {}
            cells.append(nbformat.from_dict(dict(id=cid, cell_type=c.cell_type, source=src, metadata=meta, **extra)))
            continue
        if not src.strip() and not outs: continue
        if opts.get('echo') == 'false': meta['transient'] = {'remove_source': True}
        if 'code-fold' in opts: meta['code_fold'] = opts.get('code-summary', 'Code')
        cells.append(nbformat.from_dict(dict(id=cid, cell_type='code', source=src, metadata=meta, outputs=outs, execution_count=None)))
    return nbformat.from_dict(dict(nbformat=4, nbformat_minor=5, metadata=dict(nb.get('metadata', {})), cells=cells))

def build_page(p:Path, execute:bool, skip_flags:set) -> dict:
    "Process, optionally run, and render one notebook; returns the page's parts, or `error` with one line."
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from pygments.formatters import HtmlFormatter
    t0, rel = time.time(), p.relative_to(ROOT).as_posix()
    os.environ['IN_TEST'] = '1'           # as nbdev_test and nbdev's docs processing set it
    if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
    try:
        with working_directory(p.parent):
            nb = read_nb(p)
            page, is_mod = page_name(p, nb), bool(_default_exp(nb))
            for i, c in enumerate(nb.cells): c.orig_ = i + 1     # numbered as in Jupyter, for error messages
            proc = NBProcessor(nb=nb, procs=[])                  # splits off the `#|` directives
            swap = run_added_show_docs(nb, run_cells(nb, skip_flags)) if execute else exec_doc_cells
            proc.procs = _mk_procs([swap if o is exec_show_docs else o for o in FilterDefaults().procs() if o is not insert_warning], nb=nb)
            proc.process()
            fm = nb.frontmatter_
            nbc = apply_cell_options(nb)
            nbc.metadata['title'] = fm.get('title', p.stem)
            exp = HTMLExporter(extra_loaders=[DictLoader({'docs.html.j2': TEMPLATE})], template_file='docs.html.j2',
                               exclude_input_prompt=True, exclude_output_prompt=True, embed_images=True)
            res = dict(metadata=dict(name=fm.get('title', p.stem), path=str(p.parent)), title=fm.get('title', p.stem),
                       description=fm.get('description', ''), css=CSS + HtmlFormatter().get_style_defs('.highlight'))
            body, _ = exp.from_notebook_node(nbc, resources=res)
    except Exception as e:
        return dict(nb=rel, error=f"{rel}: {e if isinstance(e, CellError) else one_line(e)}")
    return dict(nb=rel, page=page, title=fm.get('title', p.stem), is_mod=is_mod, html=body, secs=time.time() - t0)

# ---- the site ------------------------------------------------------------------------------------------------
def nav_html(pages, current, cfg) -> str:
    "Top bar and sidebar: index first, then the modules' API pages, then the other notebooks (tutorials)."
    active = lambda r: ' class="active"' if r['page'] == current else ''
    link = lambda r: f'<li><a href="{r["page"]}"{active(r)}>{html.escape(r["title"])}</a></li>'
    groups = [('', [r for r in pages if r['page'] == 'index.html']),
              ('API', [r for r in pages if r['is_mod']]),
              ('Tutorials', [r for r in pages if not r['is_mod'] and r['page'] != 'index.html'])]
    side = ''.join((f'<h4>{g}</h4>' if g else '') + '<ul>' + ''.join(map(link, rs)) + '</ul>' for g, rs in groups if rs)
    return (f'<nav class="topbar"><a class="site" href="index.html">{html.escape(cfg.title)}</a>'
            f'<span class="desc">{html.escape(cfg.get("description", ""))}</span></nav>\n<nav class="sidebar">{side}</nav>')

def fix_links(s:str, pages, cfg) -> str:
    "Links nbdev made to the published site, and links to notebooks, as links between the pages built here."
    base = urljoin(cfg.doc_host + '/', cfg.doc_baseurl) + '/'
    by_nb = {Path(r['nb']).name: r['page'] for r in pages}
    by_nbdev = {_nbpath2html(Path(r['nb'])).name: r['page'] for r in pages}
    s = re.sub(re.escape(base) + r'([\w.-]+\.html)', lambda m: by_nbdev.get(m[1], m[1]), s)
    s = re.sub(r'href="(?:[\w./-]*/)?([\w.-]+\.ipynb)', lambda m: f'href="{by_nb[m[1]]}' if m[1] in by_nb else m[0], s)
    # heading ids in lower case, as Quarto makes them and as nbdev's `page.html#name` links expect
    return re.sub(r'(<h[1-6] id="|<a class="anchor-link" href="#)([^"]+)', lambda m: m[1] + m[2].lower(), s)

def write_atomic(path:Path, text:str):
    tmp = path.with_name(f'.{path.name}.tmp')
    tmp.write_text(text, encoding='utf-8')
    os.replace(tmp, path)

def main(argv=None):
    cfg = get_config(path=ROOT)
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', default=str(cfg.doc_path), help='output folder (default: settings.ini doc_path)')
    ap.add_argument('--execute', action='store_true', help='run every notebook to embed its outputs and figures')
    ap.add_argument('--flags', default='', help='space-separated test flags whose cells run anyway, as nbdev_test --flags')
    ap.add_argument('--n_workers', type=int, default=min(num_cpus(), 8), help='notebooks built in parallel (0: in this process)')
    a = ap.parse_args(argv)
    nbs = sorted((p for p in Path(cfg.nbs_path).rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts),     # tutorials/ too
                 key=lambda p: (p.stem != 'index', p.name))
    skip = set(cfg.get('tst_flags', '').split()) - set(a.flags.split())
    n_workers = min(a.n_workers, len(nbs))
    # one core's worth of threads per worker: torch's default (every core, in each worker) made the build 2x slower
    if n_workers > 1: os.environ.setdefault('OMP_NUM_THREADS', str(max(1, num_cpus() // n_workers)))
    res = list(parallel(build_page, nbs, execute=a.execute, skip_flags=skip, n_workers=n_workers, pause=0.01, progress=False))
    errs = [r['error'] for r in res if 'error' in r]
    pages = [r['page'] for r in res if 'page' in r]
    dups = sorted({p for p in pages if pages.count(p) > 1})
    if dups: errs.append(f"notebooks sharing a page name: {', '.join(dups)}")
    for e in errs: print(f'docs: error: {e}', file=sys.stderr)
    if errs: print('docs: build failed; nothing written', file=sys.stderr); return 1
    out = Path(a.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for r in res: write_atomic(out/r['page'], fix_links(r['html'].replace('<!--NAV-->', nav_html(res, r['page'], cfg), 1), res, cfg))
    slow = ', '.join(f"{Path(r['nb']).name} {r['secs']:.0f} s" for r in sorted(res, key=lambda r: -r['secs'])[:3])
    print(f"docs: {len(res)} pages in {out} ({'executed' if a.execute else 'stored outputs'}) in {time.time()-T0:.1f} s; slowest: {slow}")
    return 0

if __name__ == '__main__':
    # run `main` from this file imported as a module: IPython replaces `__main__` in a worker once a notebook ran
    # there, and the workers must still find `build_page` by name
    sys.path.insert(0, str(Path(__file__).parent))
    import docs
    sys.exit(docs.main())
