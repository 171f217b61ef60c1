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
def test_bench_script_help(script):
    r = subprocess.run([sys.executable, str(script), '--help'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    first = ast.get_docstring(ast.parse(script.read_text())).splitlines()[0]
    assert ' '.join(first.split()) in ' '.join(r.stdout.split())                 # its own description, from its docstring

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
