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

def _recipe(target:str) -> list:
    "The prerequisites and recipe lines of a Makefile target (`make -pn` would run the venv's first step)."
    text = (ROOT/'Makefile').read_text()
    m = re.search(rf'^{re.escape(target)}:(.*)\n((?:\t.*\n)*)', text, re.M)
    return [m[1].split('##')[0].split(), [l.strip() for l in m[2].splitlines()]]

def test_make_fit_installs_what_training_needs_and_no_more():
    "`make fit` needs `install`: torch, then the package without extras; the dev tools and Ray come with `make dev`, which `make test` needs."
    assert _recipe('fit')[0] == ['install'] and _recipe('test')[0] == ['dev'] and _recipe('test-fast')[0] == ['dev']
    base, dev = _recipe('$(VENV)/.installed')[1], _recipe('$(VENV)/.installed-dev')[1]
    assert any('pip install -q -e .' == l.split('$(PY) -m ')[-1] for l in base), base
    assert not any('[dev' in l or 'tune' in l for l in base) and any('.[dev,tune]' in l for l in dev)

def test_readme_states_the_install_and_the_tests_time():
    "The README's size and time of the install and of CI come from the committed benchmark records, not typed."
    import json
    i, ci = (json.loads((ROOT/'bench'/'results'/f'{n}.json').read_text()) for n in ('install', 'ci'))
    two = _section('Two commands')
    assert f"leaves a {i['install_env_mib']/1024:.1f} GiB" in two and f"{i['install_s']/60:.1f} min" in two
    assert f"at {ci['wall_s']/60:.1f} min" in two and ci['returncode'] == 0 and 'chromium' in two

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
