"""Generate README.md from nbs/index.ipynb (Quarto, which `nbdev_readme` needs, cannot be installed here).

    python tools/readme.py          # write README.md
    python tools/readme.py --check  # exit 1 if README.md is stale

The notebook is executed in memory with execnb (nbdev's executor); `#| hide` cells are dropped, `#| echo: false`
cells show only their output, `#| eval: false` cells show only their code. Pictures (`images/...`) point into nbs/.
"""
import sys, os, re
from pathlib import Path
from execnb.nbio import read_nb
from execnb.shell import CaptureShell

ROOT = Path(__file__).resolve().parents[1]

def directives(src):
    return {m.group(1).strip(): m.group(2).strip() for m in re.finditer(r'^#\|\s*([\w-]+)\s*:?\s*(.*)$', src, re.M)}

def strip_directives(src): return re.sub(r'^#\|.*\n?', '', src, flags=re.M).strip('\n')

def render_output(o):
    d = o.get('data', {})
    if 'text/markdown' in d: return ''.join(d['text/markdown'])
    if o.get('output_type') == 'stream': return '```\n' + ''.join(o['text']).rstrip() + '\n```'
    if 'text/plain' in d: return '```\n' + ''.join(d['text/plain']).rstrip() + '\n```'
    return ''

def make_readme():
    nb = read_nb(ROOT/'nbs'/'index.ipynb')
    cwd = os.getcwd(); os.chdir(ROOT/'nbs')
    skip = lambda c: c.cell_type != 'code' or directives(c.source).get('eval') == 'false'
    try: CaptureShell().run_all(nb, exc_stop=True, preproc=skip)
    finally: os.chdir(cwd)
    parts = []
    for c in nb.cells:
        if c.cell_type == 'markdown': parts.append(c.source.strip()); continue
        d = directives(c.source)
        if 'hide' in d or d.get('include') == 'false': continue
        if d.get('echo') != 'false': parts.append('```python\n' + strip_directives(c.source) + '\n```')
        if d.get('eval') != 'false': parts += [r for r in map(render_output, c.get('outputs', [])) if r]
    text = '\n\n'.join(p for p in parts if p) + '\n'
    return re.sub(r'\]\(images/', '](nbs/images/', text)       # pictures live in nbs/images/, beside the notebooks

if __name__ == '__main__':
    text = make_readme()
    dest = ROOT/'README.md'
    if '--check' in sys.argv:
        if not dest.exists() or dest.read_text() != text:
            print('README.md is stale: run `make readme` (python tools/readme.py) and commit it', file=sys.stderr)
            sys.exit(1)
        print('README.md is up to date')
    else:
        tmp = dest.with_suffix('.md.tmp'); tmp.write_text(text); tmp.replace(dest)
        print(f'wrote {dest}')
