"The benchmark scripts start: every module and name they import exists, and their arguments parse (`--help`), without running a benchmark."
import ast, importlib, importlib.util, subprocess, sys
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

def test_bench_paths(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import _paths
    from conftest import TGZ, CLI
    assert Path(_paths.DATA).resolve() == TGZ.resolve() and Path(_paths.CLI) == CLI and CLI.exists()
