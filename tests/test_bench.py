"The benchmark scripts start: every module and name they import exists, and their arguments parse (`--help`), without running a benchmark."
import ast, importlib, importlib.util, json, os, subprocess, sys
from pathlib import Path
import pytest

BENCH = Path(__file__).resolve().parents[1]/'bench'
SCRIPTS = sorted(p for p in BENCH.glob('*.py') if not p.name.startswith('_'))
HELPERS = sorted(BENCH.glob('_*.py'))

def imports(script:Path):
    "(module, name or None) for every import statement anywhere in `script`, top level or inside a function."
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.Import): yield from ((a.name, None) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0: yield from ((node.module, a.name) for a in node.names)

@pytest.mark.parametrize('script', SCRIPTS + HELPERS, ids=[p.stem for p in SCRIPTS + HELPERS])
def test_bench_script_imports(script, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))          # scripts run as `python bench/X.py`: bench/ is on the path
    for mod, name in imports(script):
        m = importlib.import_module(mod)
        submodule = hasattr(m, '__path__') and importlib.util.find_spec(f'{mod}.{name}')      # `from package import module`
        assert name is None or hasattr(m, name) or submodule, f"{script.name}: {mod} has no {name}"

@pytest.mark.parametrize('script', SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_bench_script_help(script, monkeypatch, capsys):
    "`python bench/X.py --help`, run in this process (`runpy`, as `__main__`): exit 0 and its own description, from its docstring."
    import runpy
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.setattr(sys, 'argv', [str(script), '--help'])
    monkeypatch.setattr(sys, 'excepthook', sys.excepthook)     # bench_parser sets its own: pytest's comes back after the test
    with pytest.raises(SystemExit) as e: runpy.run_path(str(script), run_name='__main__')
    assert e.value.code in (0, None)
    out = capsys.readouterr().out
    first = ast.get_docstring(ast.parse(script.read_text())).splitlines()[0]
    assert ' '.join(first.split()) in ' '.join(out.split())                      # its own description, from its docstring

def _paths_in(tmp_path, **env) -> dict:
    "bench/_paths.py's DATA and CLI, as a benchmark run from `tmp_path` with `env` sees them."
    code = 'import json, _paths; print(json.dumps(dict(DATA=_paths.DATA, CLI=_paths.CLI)))'
    env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                       env={**env, 'PYTHONPATH': str(BENCH)})
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)

def test_bench_paths(tmp_path):
    "The shared archive when it is there (relative to where the script runs), else $CIFAR_ADV_DATA; the CLI beside this Python."
    from conftest import CLI
    shared, empty = tmp_path/'shared', tmp_path/'empty'
    (shared/'data').mkdir(parents=True); (shared/'data'/'cifar10.tgz').touch(); empty.mkdir()
    own = tmp_path/'own.tgz'
    p = _paths_in(tmp_path, CIFAR_ADV_SHARED=str(shared), CIFAR_ADV_DATA=str(own))
    assert p['DATA'] == os.path.join('shared', 'data', 'cifar10.tgz') and p['CLI'] == str(CLI) and CLI.exists()
    assert _paths_in(tmp_path, CIFAR_ADV_SHARED=str(empty), CIFAR_ADV_DATA=str(own))['DATA'] == str(own)
    assert _paths_in(tmp_path, CIFAR_ADV_SHARED=str(empty), CIFAR_ADV_DATA=None)['DATA'] == os.path.join('empty', 'data', 'cifar10.tgz')

def test_bench_common_options(monkeypatch):
    "The shared options parse with their types and defaults, in the order given, and each says its default."
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.setattr(sys, 'excepthook', sys.excepthook)     # bench_parser sets its own: pytest's comes back after the test
    from _args import bench_parser, add_common
    ap = bench_parser('First line.\nMore.', data=None, arch='advnet', bs=256)
    ap.add_argument('--own')
    add_common(ap, archs=['a', 'b'], rounds=3, out='bench/results/x.json')
    assert ap.description == 'First line.'
    assert [a.dest for a in ap._actions][1:] == ['data', 'arch', 'bs', 'own', 'archs', 'rounds', 'out']
    a = ap.parse_args(['--bs', '64', '--archs', 'x', 'y'])
    assert (a.data, a.arch, a.bs, a.archs, a.rounds, a.out) == (None, 'advnet', 64, ['x', 'y'], 3, 'bench/results/x.json')
    helps = ' '.join(ap.format_help().split())
    assert '(default: 256)' in helps and '(default: a b)' in helps and "(default: $CIFAR_ADV_DATA, else fastai's copy)" in helps
    with pytest.raises(SystemExit): ap.parse_args(['--bs', 'many'])

def _bench(tmp_path, code:str) -> subprocess.CompletedProcess:
    "Run `code` as a benchmark script in `tmp_path`, with bench/ on the path as `python bench/X.py` has it."
    (tmp_path/'script.py').write_text(code)
    return subprocess.run([sys.executable, 'script.py'], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ, 'PYTHONPATH': str(BENCH)})

def test_bench_one_line_errors(tmp_path):
    "A script built on `bench_parser` answers cifar-adv's refusal with one line and exit 2, a failed run with one line and exit 1; any other error keeps its traceback."
    refused = _bench(tmp_path, "from _args import bench_parser\nfrom cifar_adv.core import check\n"
                               "bench_parser('Doc.').parse_args()\nprint('started')\ncheck(False, 'no dataset at x; pass --data')\n")
    assert refused.returncode == 2 and refused.stdout == 'started\n'
    assert refused.stderr == 'script.py: error: no dataset at x; pass --data\n'
    failed = _bench(tmp_path, "from _args import bench_parser\nfrom cifar_adv.core import RunFailed\n"
                              "bench_parser('Doc.').parse_args()\nraise RunFailed('cannot write out.json: disk full\\nmore detail')\n")
    assert failed.returncode == 1 and failed.stderr == 'script.py: error: cannot write out.json: disk full\n'
    bug = _bench(tmp_path, "from _args import bench_parser\nbench_parser('Doc.').parse_args()\n1/0\n")
    assert bug.returncode == 1 and 'Traceback' in bug.stderr and 'ZeroDivisionError' in bug.stderr

def test_bench_run_cli(tmp_path):
    "`run_cli` returns a command's output; a failed command stops the script with the command, its last error line and its status."
    ok = _bench(tmp_path, "import sys\nfrom _args import run_cli\nprint(run_cli([sys.executable, '-c', 'print(42)']).stdout.strip())\n")
    assert ok.returncode == 0 and ok.stdout == '42\n'
    bad = _bench(tmp_path, "import sys\nfrom _args import run_cli\n"
                           "run_cli([sys.executable, '-c', 'import sys; print(1, file=sys.stderr); sys.exit(\"cifar-adv: error: no such run\")'])\n")
    assert bad.returncode == 1 and len(bad.stderr.splitlines()) == 1
    assert bad.stderr.startswith(f"script.py: `{Path(sys.executable).name} -c ") and bad.stderr.endswith('failed: cifar-adv: error: no such run\n')

@pytest.mark.slow
def test_bench_missing_data(tmp_path):
    "A real benchmark (bench/evaluate.py, through the CLI) given a dataset that is not there: one line, exit 2, nothing written."
    import shutil
    from conftest import ROOT
    run = tmp_path/'run'
    shutil.copytree(ROOT/'results'/'advnet_s-15ep', run)         # a copy: evaluate.py writes evaluate.json into the run it checks
    (run/'evaluate.json').unlink()
    before = sorted(tmp_path.rglob('*'))
    r = subprocess.run([sys.executable, str(BENCH/'evaluate.py'), str(run), '--data', str(tmp_path/'none.tgz')],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and 'data path not found' in r.stderr, r.stderr
    assert sorted(tmp_path.rglob('*')) == before
