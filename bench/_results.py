"Copy a finished run directory's record into `results/NAME`: the files the README tables and `tests/test_results.py` read."
import shutil, subprocess
from pathlib import Path
from cifar_adv.core import file_sha256

RUN_FILES = ('run.json', 'metrics.csv', 'timings.csv', 'metrics.json', 'model.safetensors', 'model.json')
REPORT_FILES = ('per_class.csv', 'confusion_matrix.csv', 'most_confused.csv')       # the run report's numbers, when it has one

def save_result(run, name:str, root='results') -> Path:
    "Assemble `root/name` from `run` apart, then swap it in, so no stale file (an old `evaluate.json`) survives."
    run, dest = Path(run), Path(root)/name
    tmp = Path(root)/f'.{name}.tmp'
    shutil.rmtree(tmp, ignore_errors=True); tmp.mkdir(parents=True)
    for f in RUN_FILES: shutil.copy(run/f, tmp/f)
    for f in REPORT_FILES:
        if (run/'report'/f).exists(): shutil.copy(run/'report'/f, tmp/f)
    if dest.exists(): shutil.rmtree(dest)
    tmp.rename(dest)
    write_digests(root)
    return dest

DIGESTS = 'SHA256SUMS'     # results/SHA256SUMS: `sha256sum -c` format, one line per committed run's model.safetensors

def read_digests(root='results') -> dict:
    "`root/SHA256SUMS` as {run name: sha256 of its model.safetensors}."
    f = Path(root)/DIGESTS
    lines = f.read_text().splitlines() if f.exists() else []
    return {p.split('/')[0]: h for h, p in (l.split(maxsplit=1) for l in lines if l.strip())}

def write_digests(root='results') -> Path:
    "Record the sha256 of every run's `model.safetensors` in `root/SHA256SUMS`; a run whose weights are kept out of git (and so absent here) keeps its recorded digest."
    old, root = read_digests(root), Path(root)
    runs = sorted(p.parent.name for p in root.glob('*/metrics.json'))
    new = {r: file_sha256(root/r/'model.safetensors') if (root/r/'model.safetensors').exists() else old.get(r) for r in runs}
    (root/DIGESTS).write_text(''.join(f"{h}  {r}/model.safetensors\n" for r, h in new.items() if h))
    return root/DIGESTS

def result_runs(named:list, root='results') -> list:
    "The run folders `named` on a script's command line, or else every committed run (`root/*/metrics.json`), in order."
    return [Path(r) for r in named] or sorted(p.parent for p in Path(root).glob('*/metrics.json'))

def code_commit(*paths:str) -> str|None:
    "The short commit of HEAD, with `+changes` when `paths` (the code that ran) differ from it; None outside a git checkout."
    git = lambda *a: subprocess.run(['git', *a], capture_output=True, text=True).stdout.strip()
    head = git('rev-parse', '--short', 'HEAD') or None
    return head and head + ('+changes' if git('status', '--porcelain', '--', *paths) else '')
