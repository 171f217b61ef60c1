import json, shutil, dataclasses, pytest
from conftest import call_cli

def test_help_lists_verbs(capsys):
    r = call_cli(capsys, '--help')
    assert r.returncode == 0
    for verb in ('fit', 'lr-find', 'report', 'predict', 'evaluate', 'export', 'data', 'archs', 'summary'): assert verb in r.stdout
    r = call_cli(capsys, 'fit', '--help')
    assert r.returncode == 0 and '--epochs' in r.stdout and '(default: 60)' in r.stdout

def test_the_recipe_is_declared_once():
    """The recipe's fields are declared in one place, `Recipe`: the verbs that train (`fit`, `lr-find`, `tune`), `fit_run` and
    `tune_run` declare none of them (counted), yet `fit` offers every one as a flag whose help is the field's comment; the
    builders that take a single setting (`get_dls`, `summary`, `create_model`) default to `RECIPE`'s value of it."""
    import inspect, dataclasses
    from fastcore.docments import docments
    from cifar_adv.core import RECIPE, DEFAULT_ARCH, Recipe, Machine
    from cifar_adv.cli import fit, lr_find, tune, verb_parser
    from cifar_adv.verbs import summary
    from cifar_adv.train import fit_run
    from cifar_adv.tune import tune_run
    from cifar_adv.dls import get_dls
    from cifar_adv.models import create_model
    fields = dataclasses.fields(Recipe)
    names = {f.name for f in fields} | {f.metadata['flag'] for f in fields if 'flag' in f.metadata}
    declared = {f.__name__: sorted(names & set(inspect.signature(f).parameters)) for f in (fit, lr_find, tune, fit_run, tune_run)}
    assert declared == dict(fit=[], lr_find=[], tune=[], fit_run=[], tune_run=[])
    docs = docments(Recipe)
    assert len(fields) == 30 and all(docs[f.name] for f in fields)       # one comment (the help text) per field
    p = verb_parser(fit, 'cifar-adv fit')
    flags = {}
    for a in p._actions: flags.setdefault(a.dest, a)         # a switch's first flag (`--lookahead`, not `--no-lookahead`)
    for f in fields:
        assert flags[f.name].help.startswith(docments(Recipe)[f.name]) and flags[f.name].default == f.default, f.name
    assert {f.name for f in dataclasses.fields(Machine)} <= set(flags) and '--ls' in flags['label_smoothing'].option_strings
    defaults = lambda f: {('arch' if k == 'name' else k): p.default for k, p in inspect.signature(f).parameters.items()}
    for f, n in ((get_dls, 6), (summary, 1), (create_model, 1)):
        d = defaults(f)
        shared = [k for k in dataclasses.asdict(RECIPE) if k in d]
        assert len(shared) == n and {k: d[k] for k in shared} == {k: getattr(RECIPE, k) for k in shared}, f.__name__
    assert DEFAULT_ARCH == RECIPE.arch

def test_tune_chooses_on_held_out_images():
    "A sweep validates on held-out training images unless told otherwise; `fit` on the test set."
    from cifar_adv.cli import fit, tune, verb_parser
    assert verb_parser(tune, 'cifar-adv tune').parse_args([]).valid == 'holdout'
    assert verb_parser(fit, 'cifar-adv fit').parse_args([]).valid == 'test'

def test_a_named_recipe_sets_the_defaults_and_flags_change_it():
    "`--recipe fast` makes `RECIPES['fast']` the flags' defaults; a flag given changes its value, a switch on by default has its `--no-` form; a sweep keeps its own held-out validation."
    from cifar_adv.core import RECIPES, Recipe, settings_of, recipe_args
    from cifar_adv.cli import fit, tune, verb_parser
    fast = RECIPES['fast'].recipe
    parse = lambda f, *a: Recipe(**settings_of(Recipe, vars(verb_parser(f, 'x', recipe='fast').parse_args(['--recipe', 'fast', *a]))))
    assert parse(fit) == fast
    assert parse(fit, '--epochs', '3', '--no-lookahead') == Recipe(**{**dataclasses.asdict(fast), 'epochs': 3, 'lookahead': False})
    assert parse(tune) == Recipe(**{**dataclasses.asdict(fast), 'valid': 'holdout'})
    assert parse(fit, *recipe_args(fast)) == fast          # the flags `recipe_args` writes rebuild the recipe

def test_learner_uses_the_recipes_optimiser(sample):
    import fastai.optimizer
    from cifar_adv.core import RECIPE
    from cifar_adv.data import load_arrays
    from cifar_adv.dls import get_dls
    from cifar_adv.learner import get_learner
    learn = get_learner(get_dls(load_arrays(sample), bs=32, num_workers=0, device='cpu'))
    assert RECIPE.opt == 'Adam' and learn.opt_func is fastai.optimizer.Adam
    assert learn.wd == RECIPE.wd and learn.loss_func.eps == RECIPE.label_smoothing and learn.arch == RECIPE.arch

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
    (['--ema', '1'], 'ema (the decay'),
    (['--mixup', '-0.2'], 'mixup (the alpha'),
    (['--mixup', '0.2', '--cutmix', '1'], 'choose one of --mixup and --cutmix'),
    (['--valid', 'train'], 'valid must be test or holdout'),
    (['--sched', 'cosine'], 'sched must be one-cycle or triangle'),
    (['--bias_lr', '0'], 'bias_lr must be > 0'),
    (['--opt', 'muon', '--muon_lr', '-1'], 'muon_lr must be > 0'),
    (['--batch_aug', 'mixup'], 'batch_aug must be one of none, translate-flip, translate-altflip'),
    (['--opt', 'Adamm'], "unknown optimiser 'Adamm'"),
    (['--arch', 'advnet_s', '--whiten'], '--whiten needs an arch with a 2x2 stem'),
    (['--recipe', 'fastest'], "unknown recipe 'fastest'; choose from default, fast, quick"),
])
def test_bad_values_one_line_exit_2_nothing_written(tmp_path, sample, args, msg, capsys):
    out = tmp_path/'run'
    base = ['--data', sample] if '--data' not in args else []
    r = call_cli(capsys, 'fit', '--out', out, '--epochs', '1', *base, *args)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('cifar-adv') and msg in lines[0], r.stderr
    assert 'Traceback' not in r.stderr
    assert not out.exists()

def test_existing_out_dir_needs_force(tmp_path, sample, capsys):
    out = tmp_path/'run'; out.mkdir()
    (out/'precious.txt').write_text('keep me')
    r = call_cli(capsys, 'fit', '--out', out, '--epochs', '1', '--data', sample)
    assert r.returncode == 2 and 'not empty' in r.stderr and '--force' in r.stderr
    assert [p.name for p in out.iterdir()] == ['precious.txt']
    f = tmp_path/'afile'; f.write_text('x')
    r = call_cli(capsys, 'fit', '--out', f, '--epochs', '1', '--data', sample)
    assert r.returncode == 2 and 'not a folder' in r.stderr and f.read_text() == 'x'

def test_unknown_verb(capsys):
    r = call_cli(capsys, 'train')
    assert r.returncode == 2 and "unknown verb 'train'" in r.stderr

def test_data_verb(sample, capsys):
    r = call_cli(capsys, 'data', '--data', sample)
    assert r.returncode == 0, r.stderr
    assert 'classes: 10' in r.stdout and 'total' in r.stdout and 'mean:' in r.stdout
    cat = next(l for l in r.stdout.splitlines() if l.strip().startswith('cat'))
    assert cat.split()[1:] == ['20', '10']

def test_fit_on_sample_writes_run(sample_run, tmp_path, sample, capsys):
    "The shared sample run (`cifar-adv fit` in a fresh process, its output a pipe), then `--force` over a copy of it, in this process."
    out = sample_run
    stdout, stderr = (out.parent/'fit.stdout').read_text(), (out.parent/'fit.stderr').read_text()
    assert (out/'export.pkl').is_file() and len((out/'metrics.csv').read_text().splitlines()) == 3
    run = json.loads((out/'run.json').read_text())
    assert run['schema'] == 2 and [run['recipe'][k] for k in ('width', 'act', 'drop')] == [None] * 3   # the arch's own options: none given
    # stdout is a pipe here: fastai's table of epochs, a line each, and no bars (no '\r' redraws, no '█' probe)
    lines = stdout.splitlines()
    assert '\r' not in stdout and '█' not in stdout + stderr, stdout[:500]
    assert lines[0].split() == ['epoch', 'train_loss', 'valid_loss', 'accuracy', 'time']
    assert [l.split()[0] for l in lines[1:3]] == ['0', '1'] and 'test accuracy' in lines[3]
    # --force replaces the run; a seed arch, which takes none of advnet's options, trains with its own
    out = shutil.copytree(sample_run, tmp_path/'run')
    r = call_cli(capsys, 'fit', '--out', out, '--epochs', '1', '--bs', '32', '--data', sample, '--arch', 'seed003', '--force', '--no_report')
    assert r.returncode == 0 and len((out/'metrics.csv').read_text().splitlines()) == 2, r.stderr[-2000:]
    assert json.loads((out/'metrics.json').read_text())['arch'] == 'seed003'

def test_lr_find_verb(tmp_path, sample, capsys):
    out = tmp_path/'lr'
    r = call_cli(capsys, 'lr-find', '--out', out, '--bs', '32', '--data', sample, '--arch', 'advnet_s')
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'suggested lr' in r.stdout and (out/'lr_find.png').stat().st_size > 5000
    assert '█' not in r.stdout and '\r' not in r.stdout

def test_archs_json_is_stable(capsys):
    r = call_cli(capsys, 'archs', '--json')
    assert r.returncode == 0, r.stderr
    infos = json.loads(r.stdout)
    from test_models import PARAMS, CLAIMS
    assert [i['name'] for i in infos] == list(PARAMS)
    for i in infos:
        assert {'name', 'params', 'macs', 'rf', 'checks'} <= set(i)
        assert i['params'] == PARAMS[i['name']] and i['rf'] > 1 and i['macs'] > 1e6
        assert {k for k, v in i['checks'].items() if v} == CLAIMS[i['name']]
    r = call_cli(capsys, 'archs')
    assert r.returncode == 0 and 'advnet_dil' in r.stdout and '186,034' in r.stdout

def test_summary_verb(capsys):
    r = call_cli(capsys, 'summary', '--arch', 'seed003', '--json')
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s['params'] == 151_902 == sum(l['params'] for l in s['layers'])
    assert s['rf_table'][-1]['rf_out'] <= s['rf'] and s['rf_table'][0]['rf_in'] == 1
    assert s['layers'][0]['output_shape'] == [1, 16, 32, 32]
    r = call_cli(capsys, 'summary', '--arch', 'advnet')
    assert r.returncode == 0 and 'Receptive field' in r.stdout and 'Total params: 186,034' in r.stdout
    r = call_cli(capsys, 'summary', '--arch', 'nope')
    assert r.returncode == 2 and 'unknown arch' in r.stderr

# ---- first contact: what a newcomer meets ----

def test_fit_without_data_or_network(tmp_path, monkeypatch, capsys):
    "No --data, no dataset in fastai's cache and no network: one line naming the fix, exit 2, nothing left in fastai's archive folder or in --out."
    import urllib.error
    from pathlib import Path
    import fastdownload.core
    from cifar_adv.cli import main
    def no_network(url, dest=None, **kwargs):
        Path(dest).write_bytes(b'the first bytes of a download')         # a partial file, as a dropped connection leaves
        raise urllib.error.URLError('[Errno -3] Temporary failure in name resolution')
    home, out = tmp_path/'fastai', tmp_path/'run'
    monkeypatch.setenv('FASTAI_HOME', str(home))
    monkeypatch.delenv('CIFAR_ADV_DATA', raising=False)
    monkeypatch.setattr(fastdownload.core, 'urlsave', no_network)
    assert main(['fit', '--out', str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'downloading CIFAR-10 failed' in err[0] and 'Temporary failure' in err[0], err
    assert '--data PATH' in err[0] and '$CIFAR_ADV_DATA' in err[0]
    assert [p.name for p in home.rglob('*') if p.is_file()] == ['config.ini'] and not out.exists()   # no .lock, no .part

def test_evaluate_a_run_trained_on_another_machine(tmp_path, sample, capsys, monkeypatch):
    "A committed run's metrics.json names a dataset path of the machine that trained it: `evaluate` then looks for the data as usual."
    import shutil
    from conftest import ROOT
    run = tmp_path/'advnet_s-15ep'; run.mkdir()
    for f in ('model.safetensors', 'model.json', 'metrics.json'): shutil.copy(ROOT/'results'/'advnet_s-15ep'/f, run/f)
    m = json.loads((run/'metrics.json').read_text())
    m = {k: v for k, v in m.items() if k != 'data_digest'}            # a run from before the content key (test_firsthour_data has those)
    (run/'metrics.json').write_text(json.dumps(dict(m, data='/home/someone-else/.cache/cifar_adv/extracted/cifar10')))
    monkeypatch.setenv('CIFAR_ADV_DATA', str(sample))
    r = call_cli(capsys, 'evaluate', run)
    assert r.returncode == 0, r.stderr
    assert 'on 100 images of' in r.stdout and 'not on this machine' in r.stderr

def test_small_dataset_caps_the_batch(tmp_path, sample, capsys):
    "200 training images and the default batch of 256: the batch becomes 200, with a one-line note; '1 epoch', not '1 epochs'."
    out = tmp_path/'run'
    r = call_cli(capsys, 'fit', '--data', sample, '--out', out, '--epochs', 1, '--arch', 'advnet_s', '--no_report')
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stderr.strip() == 'note: batch size 256 is larger than the training set (200 images): using 200'
    assert json.loads((out/'run.json').read_text())['recipe']['bs'] == 200 == json.loads((out/'metrics.json').read_text())['bs']
    assert ' 1 epoch in ' in r.stdout

def test_refusal_leaves_no_run_directory(tmp_path, capsys):
    "A refusal found late (here: the dataset) leaves no runs/<stamp> folder behind, so a retry is not refused as 'not empty'."
    (tmp_path/'empty').mkdir()
    r = call_cli(capsys, 'fit', '--data', tmp_path/'empty', cwd=tmp_path)
    assert r.returncode == 2 and 'missing train/ and test/' in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ['empty']

def test_long_decode_shows_a_bar_on_stderr_only(sample, capfd):
    from cifar_adv.data import decode_images, scan
    from cifar_adv.source import resolve_data
    root = resolve_data(sample)
    files = [f for fs in scan(root)['train'].values() for f in fs]
    decode_images(root, files)                                         # short, and not at a terminal: silent
    assert capfd.readouterr() == ('', '')
    decode_images(root, files, progress=True)
    o, e = capfd.readouterr()
    assert o == '' and e.startswith('decoding 200 images of ') and '100.00% [200/200' in e

def test_training_and_inference_start_without_torchvision():
    # every command starts a process: fastai.vision.all would import torchvision's model zoo (about 1.6 s here) that cifar-adv never uses
    import subprocess, sys
    code = "import sys, cifar_adv.verbs, cifar_adv.train, cifar_adv.inference, cifar_adv.report; print('torchvision' in sys.modules)"
    assert subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.strip() == 'False'
