import json, pytest
from conftest import run_cli

def test_help_lists_verbs():
    r = run_cli('--help')
    assert r.returncode == 0
    for verb in ('fit', 'lr-find', 'report', 'predict', 'evaluate', 'export', 'data', 'archs', 'summary'): assert verb in r.stdout
    r = run_cli('fit', '--help')
    assert r.returncode == 0 and '--epochs' in r.stdout and '(default: 60)' in r.stdout

def test_verb_defaults_match_fit_run():
    "`cifar-adv fit` and `lr-find` default to `fit_run`'s recipe: the README's results and Targets name that recipe."
    import inspect
    from cifar_adv.cli import fit, lr_find
    from cifar_adv.train import fit_run
    defaults = lambda f: {('label_smoothing' if k == 'ls' else k): p.default for k, p in inspect.signature(f).parameters.items()}
    lib = defaults(fit_run)
    for verb in (fit, lr_find):
        d = defaults(verb)
        if 'lr' in d: d['lr'] = float(d['lr'])
        shared = [k for k in ('arch', 'epochs', 'bs', 'lr', 'wd', 'label_smoothing', 'aug', 'seed') if k in d]
        assert len(shared) >= 6 and {k: d[k] for k in shared} == {k: lib[k] for k in shared}, verb.__name__
    from cifar_adv.cli import summary
    from cifar_adv.models import create_model
    from cifar_adv.train import get_learner
    from cifar_adv.core import DEFAULT_ARCH
    # the Python API and the other verbs build the same default arch
    assert defaults(summary)['arch'] == defaults(get_learner)['arch'] == defaults(create_model)['name'] == lib['arch'] == DEFAULT_ARCH

def test_help_does_not_import_torch():
    import subprocess, sys
    code = "import sys; from cifar_adv.cli import main; main(['--help']); print('torch' in sys.modules, 'fastai' in sys.modules)"
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert r.stdout.strip().endswith('False False')

@pytest.mark.parametrize('args, msg', [
    (['--epochs', '0'], 'epochs must be > 0'),
    (['--epochs', '-3'], 'epochs must be > 0'),
    (['--epochs', 'ten'], 'invalid int value'),
    (['--lr', '0'], 'lr must be > 0'),
    (['--lr', 'fast'], "lr must be a number > 0 or 'find'"),
    (['--bs', '0'], 'batch size must be > 0'),
    (['--wd', '-1'], 'weight decay must be >= 0'),
    (['--arch', 'resnet9000'], 'unknown arch'),
    (['--aug', 'heavy'], 'unknown augmentation preset'),
    (['--p_flip', '2'], 'between 0 and 1'),
    (['--act', 'tanhh'], 'unknown activation'),
    (['--arch', 'seed004', '--act', 'silu'], "arch 'seed004' takes no option 'act'"),
    (['--data', '/no/such/dir'], 'data path not found'),
])
def test_bad_values_one_line_exit_2_nothing_written(tmp_path, sample, args, msg):
    out = tmp_path/'run'
    base = ['--data', sample] if '--data' not in args else []
    r = run_cli('fit', '--out', out, '--epochs', '1', *base, *args)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('cifar-adv') and msg in lines[0], r.stderr
    assert 'Traceback' not in r.stderr
    assert not out.exists()

def test_existing_out_dir_needs_force(tmp_path, sample):
    out = tmp_path/'run'; out.mkdir()
    (out/'precious.txt').write_text('keep me')
    r = run_cli('fit', '--out', out, '--epochs', '1', '--data', sample)
    assert r.returncode == 2 and 'not empty' in r.stderr and '--force' in r.stderr
    assert [p.name for p in out.iterdir()] == ['precious.txt']
    f = tmp_path/'afile'; f.write_text('x')
    r = run_cli('fit', '--out', f, '--epochs', '1', '--data', sample)
    assert r.returncode == 2 and 'not a folder' in r.stderr and f.read_text() == 'x'

def test_unknown_verb():
    r = run_cli('train')
    assert r.returncode == 2 and "unknown verb 'train'" in r.stderr

def test_data_verb(sample):
    r = run_cli('data', '--data', sample)
    assert r.returncode == 0, r.stderr
    assert 'classes: 10' in r.stdout and 'total' in r.stdout and 'mean:' in r.stdout
    cat = next(l for l in r.stdout.splitlines() if l.strip().startswith('cat'))
    assert cat.split()[1:] == ['20', '10']

def test_fit_on_sample_writes_run(tmp_path, sample):
    out = tmp_path/'run'
    r = run_cli('fit', '--out', out, '--epochs', '2', '--bs', '32', '--data', sample, '--arch', 'advnet_s', '--no_report')
    assert r.returncode == 0, r.stderr[-2000:]
    assert (out/'export.pkl').is_file() and len((out/'metrics.csv').read_text().splitlines()) == 3
    assert json.loads((out/'run.json').read_text())['arch_kwargs'] == {}      # the arch's own options: none given
    # --force replaces the run; a seed arch, which takes none of advnet's options, trains with its own
    r = run_cli('fit', '--out', out, '--epochs', '1', '--bs', '32', '--data', sample, '--arch', 'seed003', '--force', '--no_report')
    assert r.returncode == 0 and len((out/'metrics.csv').read_text().splitlines()) == 2, r.stderr[-2000:]
    assert json.loads((out/'metrics.json').read_text())['arch'] == 'seed003'

def test_lr_find_verb(tmp_path, sample):
    out = tmp_path/'lr'
    r = run_cli('lr-find', '--out', out, '--bs', '32', '--data', sample, '--arch', 'advnet_s')
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'suggested lr' in r.stdout and (out/'lr_find.png').stat().st_size > 5000

def test_archs_json_is_stable():
    import json
    r = run_cli('archs', '--json')
    assert r.returncode == 0, r.stderr
    infos = json.loads(r.stdout)
    from test_models import PARAMS, CLAIMS
    assert [i['name'] for i in infos] == list(PARAMS)
    for i in infos:
        assert {'name', 'params', 'macs', 'rf', 'checks'} <= set(i)
        assert i['params'] == PARAMS[i['name']] and i['rf'] > 1 and i['macs'] > 1e6
        assert {k for k, v in i['checks'].items() if v} == CLAIMS[i['name']]
    r = run_cli('archs')
    assert r.returncode == 0 and 'advnet_dil' in r.stdout and '186,034' in r.stdout

def test_summary_verb():
    import json
    r = run_cli('summary', '--arch', 'seed003', '--json')
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s['params'] == 151_902 == sum(l['params'] for l in s['layers'])
    assert s['rf_table'][-1]['rf_out'] <= s['rf'] and s['rf_table'][0]['rf_in'] == 1
    assert s['layers'][0]['output_shape'] == [1, 16, 32, 32]
    r = run_cli('summary', '--arch', 'advnet')
    assert r.returncode == 0 and 'Receptive field' in r.stdout and 'Total params: 186,034' in r.stdout
    r = run_cli('summary', '--arch', 'nope')
    assert r.returncode == 2 and 'unknown arch' in r.stderr
