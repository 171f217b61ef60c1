"A newcomer's first hour with the data and the run's messages: a run's dataset found by its content on another machine, `--n_train` larger than the training set, the resume line, the summary's units."
import json, os, shutil, tarfile
from pathlib import Path
import pytest
from fastai.callback.core import Callback
from conftest import ROOT

def make_tgz(sample:Path, dest:Path) -> Path:
    "The sample as a .tgz at `dest`, with one top folder, as fastai's CIFAR-10 archive has it."
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(dest, 'w:gz') as tf: tf.add(sample, arcname='cifar10_sample')
    return dest

@pytest.fixture
def machine(tmp_path, monkeypatch):
    "A machine of its own: an empty cache, no $CIFAR_ADV_DATA, an empty fastai folder, and no network (a download fails the test)."
    import fastdownload.core
    monkeypatch.setenv('CIFAR_ADV_CACHE', str(tmp_path/'cache'))
    monkeypatch.delenv('CIFAR_ADV_DATA', raising=False)
    monkeypatch.setenv('FASTAI_HOME', str(tmp_path/'fastai'))
    def no_network(url, *args, **kwargs): raise AssertionError(f"tried to download {url}")
    monkeypatch.setattr(fastdownload.core, 'urlsave', no_network)
    return tmp_path

def extracted_elsewhere(tgz:Path, there:Path) -> str:
    "The dataset path a run trained on another machine records: the same archive, under another name, path and time, extracted into that machine's cache, which is then gone."
    from cifar_adv.source import extract_archive
    there.mkdir()
    copy = there/'cifar-10.tgz'
    shutil.copy(tgz, copy); os.utime(copy, (1e9, 1e9))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('CIFAR_ADV_CACHE', str(there/'cache'))
        root = extract_archive(copy)
    shutil.rmtree(there)
    return str(root)

def run_trained_on(run:Path, data:str, **more) -> Path:
    "A committed run's files (weights, model.json, metrics.json) in `run`, its metrics.json naming `data`."
    run.mkdir()
    for f in ('model.safetensors', 'model.json', 'metrics.json'): shutil.copy(ROOT/'results'/'advnet_s-15ep'/f, run/f)
    m = json.loads((run/'metrics.json').read_text())
    (run/'metrics.json').write_text(json.dumps(dict(m, data=data, **more)))
    return run

def test_one_extraction_per_archive_content(machine, sample, monkeypatch):
    "The same archive under another name, path and time is extracted once; each archive file is hashed once, the hash kept in the cache."
    import hashlib
    import cifar_adv.source as source
    tgz = make_tgz(sample, machine/'a'/'cifar10_sample.tgz')
    copy = machine/'b'/'renamed.tgz'; copy.parent.mkdir(); shutil.copy(tgz, copy); os.utime(copy, (1e9, 1e9))
    a, b = source.extract_archive(tgz), source.extract_archive(copy)
    sha = hashlib.sha256(tgz.read_bytes()).hexdigest()
    assert a == b and [d.name for d in (machine/'cache'/'extracted').iterdir()] == [f'cifar10_sample-sha256-{sha[:16]}']
    assert sorted(f.read_text().strip() for f in (machine/'cache'/'archives').iterdir()) == [sha, sha]
    def no_hashing(*args): raise AssertionError('hashed the archive again')
    monkeypatch.setattr(source.hashlib, 'sha256', no_hashing)
    assert source.extract_archive(tgz) == a and source.archive_sha256(copy) == sha

def test_evaluate_finds_the_runs_archive_in_this_cache(machine, sample, capsys):
    "`evaluate RUN`, no --data, offline: the run names a path on the machine that trained it; the same archive extracted here, under another name, is used, found by its content."
    from cifar_adv.cli import main
    from cifar_adv.source import extract_archive
    tgz = make_tgz(sample, machine/'downloads'/'cifar10_sample.tgz')
    trained_on = extracted_elsewhere(tgz, machine/'there')
    here = extract_archive(tgz)
    assert not Path(trained_on).exists() and Path(trained_on).parent.name != here.parent.name
    run = run_trained_on(machine/'run', trained_on)
    capsys.readouterr()
    assert main(['evaluate', str(run), '--device', 'cpu']) == 0
    out, err = capsys.readouterr()
    assert f'on 100 images of {here}' in out, out
    assert f"note: the run's dataset {trained_on} is not on this machine; using the identical copy in {here}" in err, err

def test_recorded_digest_finds_a_decoded_copy(machine, sample, capsys):
    "A run that recorded `data_digest` finds a decoded dataset with that content anywhere cifar-adv keeps one (here the cache of arrays of a read-only folder); another digest, or a folder changed since, is not taken; a run with a path alone falls back as before."
    from cifar_adv.data import load_arrays, recorded_data
    ro = shutil.copytree(sample, machine/'readonly', ignore=shutil.ignore_patterns('.cifar_adv'))
    ro.chmod(0o555)
    try:
        a = load_arrays(ro)                                                  # its arrays go to the cache, not beside it
        assert (machine/'cache'/'arrays').is_dir() and not (ro/'.cifar_adv').exists()
        assert a.digest == load_arrays(make_tgz(sample, machine/'s.tgz')).digest == load_arrays(sample).digest   # content, not place
        shutil.rmtree(machine/'cache'/'extracted')                           # leave the read-only folder the only copy
        capsys.readouterr()
        assert recorded_data('/home/someone/data/cifar10', a.digest) == str(ro)
        assert 'using the identical copy in' in capsys.readouterr().err
        assert recorded_data('/home/someone/data/cifar10', '0123456789abcdef') is None
        assert recorded_data('/home/someone/data/cifar10') is None              # an older run: a path alone
        assert 'using $CIFAR_ADV_DATA, fastai' in capsys.readouterr().err
        ro.chmod(0o755); (ro/a.train_files[0]).write_bytes((ro/a.train_files[1]).read_bytes())   # the folder changes
        assert recorded_data('/home/someone/data/cifar10', a.digest) is None
    finally: ro.chmod(0o755)

def test_n_train_larger_than_the_training_set_says_so(tmp_path, sample, capsys):
    "`--n_train 500` on 200 training images: a one-line note, and run.json and metrics.json say 200."
    from cifar_adv.cli import main
    out = tmp_path/'run'
    assert main(['fit', '--data', str(sample), '--out', str(out), '--epochs', '1', '--arch', 'advnet_s', '--bs', '100',
                 '--n_train', '500', '--no_report', '--device', 'cpu']) == 0
    err = capsys.readouterr().err.splitlines()
    assert err.count('note: n_train 500 is larger than the training set (200 images): using all 200') == 1, err
    assert json.loads((out/'run.json').read_text())['recipe']['n_train'] == 200 == json.loads((out/'metrics.json').read_text())['n_train']

def test_get_dls_notes_a_too_large_n_train(sample, capsys):
    from cifar_adv.data import load_arrays
    from cifar_adv.dls import get_dls
    arrs = load_arrays(sample)
    capsys.readouterr()
    assert len(get_dls(arrs, bs=32, n_train=500, num_workers=0, device='cpu').train_ds) == 200
    assert capsys.readouterr().err.strip() == 'note: n_train 500 is larger than the training set (200 images): using all 200'
    assert len(get_dls(arrs, bs=32, n_train=100, num_workers=0, device='cpu').train_ds) == 100
    assert capsys.readouterr().err == ''

class StopAfterFirstEpoch(Callback):
    "Interrupt the fit once the first epoch is checkpointed (`RunLog`'s order is 65), as Ctrl-C would."
    order = 70
    def after_epoch(self): raise KeyboardInterrupt

@pytest.mark.slow
def test_resume_line_agrees_with_metrics(tmp_path, sample, capsys):
    "The resume line counts the epochs done, as metrics.json's `resumed_at_epoch` does; metrics.json records the data's content key."
    from cifar_adv.cli import main
    from cifar_adv.data import load_arrays
    from cifar_adv.core import Recipe, Machine
    from cifar_adv.train import fit_run
    out = tmp_path/'run'
    with pytest.raises(KeyboardInterrupt):
        fit_run(out, Recipe(arch='advnet_s', epochs=3, bs=100), Machine(device='cpu'), data=sample, show_progress=False,
                cbs=[StopAfterFirstEpoch()])
    capsys.readouterr()
    assert main(['fit', '--resume', str(out), '--device', 'cpu', '--no_report']) == 0
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith('resuming')]
    m = json.loads((out/'metrics.json').read_text())
    assert lines == [f'resuming {out}: 1 of 3 epochs done, 2 to go'] and m['resumed_at_epoch'] == 1
    assert m['data_digest'] == load_arrays(sample).digest

def test_summary_labels_mult_adds_in_millions(capsys):
    "torchinfo's enum does not leak into the totals: `Total mult-adds (M)`, the MACs in millions."
    from cifar_adv.cli import main
    from cifar_adv.summary import arch_info
    assert main(['summary', '--arch', 'advnet_s']) == 0
    out = capsys.readouterr().out
    assert 'Units.' not in out
    assert f"Total mult-adds (M): {arch_info('advnet_s')['macs'] / 1e6:.2f}" in out
