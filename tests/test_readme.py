"The README's examples run as written, from the repo's root, with the venv's `cifar-adv` on PATH."
import os, re, subprocess, sys
import pytest
from conftest import ROOT

def _section(name:str) -> str:
    text = (ROOT/'README.md').read_text()
    return text.split(f'## {name}\n', 1)[1].split('\n## ', 1)[0]

def _blocks(lang:str, section:str) -> list:
    return re.findall(rf'```{lang}\n(.*?)```', _section(section), re.S)

ENV = {**os.environ, 'PATH': f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}

@pytest.mark.slow
@pytest.mark.parametrize('cmd', [l for b in _blocks('sh', 'Examples') for l in b.splitlines() if l.strip()])
def test_readme_shell_examples(cmd):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=600)
    assert r.returncode == 0, f"{cmd}\n{r.stderr[-2000:]}"
    assert r.stdout.strip()

@pytest.mark.slow
def test_readme_python_examples():
    code = '\n'.join(_blocks('python', 'Examples'))
    assert 'Predictor.load' in code and 'fit_one_cycle' in code
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]

def test_readme_two_commands_name_real_targets():
    cmds = _blocks('sh', 'Two commands')[0].split('\n')
    assert cmds[0].startswith('make fit ARGS=') and cmds[1] == 'make test'
    targets = re.findall(r'^([\w-]+):', (ROOT/'Makefile').read_text(), re.M)
    assert {'fit', 'test', 'test-fast', 'help', 'install'} <= set(targets)

@pytest.mark.slow
def test_figures_draw_from_the_committed_runs(tmp_path):
    "tools/figures.py: the README's curves and the docs' accuracy-per-parameter figure, from results/ and bench/results/."
    import importlib.util, sys
    from pathlib import Path
    from PIL import Image
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location('figures', root/'tools'/'figures.py')
    fig = importlib.util.module_from_spec(spec); sys.modules['figures'] = fig; spec.loader.exec_module(fig)
    for f in (fig.curves('advnet_hr-60ep', tmp_path/'c.png'), fig.accuracy_params(tmp_path/'a.png')):
        w, h = Image.open(f).size
        assert w >= 800 and h >= 300 and f.stat().st_size > 20_000
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith('.')] == []       # no temporary file left
