"Copy a finished run directory's record into `results/NAME`: the files the README tables and `tests/test_results.py` read."
import shutil
from pathlib import Path

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
    return dest

def result_runs(named:list, root='results') -> list:
    "The run folders `named` on a script's command line, or else every committed run (`root/*/metrics.json`), in order."
    return [Path(r) for r in named] or sorted(p.parent for p in Path(root).glob('*/metrics.json'))
