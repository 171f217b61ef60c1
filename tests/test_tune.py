"""`cifar-adv tune` (issue 23): sweeps on Ray Tune over `fit_run`. Each sweep runs the CLI in a fresh process, as a user does,
on the 200 sample images (2 epochs of advnet_s, batch 16: a few seconds a trial)."""
import os, sys, csv, json, glob, signal, subprocess, time
from pathlib import Path
import pytest
from conftest import run_cli, cli_cmd, CLI

FAST = ['--arch', 'advnet_s', '--epochs', '2', '--bs', '16', '--seed', '0']

def read_csv(p) -> list: return list(csv.DictReader(open(p)))

def trial_states(out:Path) -> dict:
    "Ray Tune's status of each trial in the sweep's experiment state, {trial_id: status} (empty before the first save)."
    files = glob.glob(str(out/'tune'/'experiment_state-*.json'))
    if not files: return {}
    try: data = json.loads(Path(files[0]).read_text())
    except ValueError: return {}                    # caught mid-write
    return {(t := json.loads(s))['trial_id']: t['status'] for s, _ in data['trial_data']}

def _stamps(run:Path) -> dict:
    "When each file of a trial's run directory was last written (a trial run again rewrites run.json and metrics.csv)."
    return {str(f.relative_to(run)): f.stat().st_mtime_ns for f in sorted(run.rglob('*')) if f.is_file()}

@pytest.fixture(scope='module')
def sweep(tmp_path_factory, sample):
    """4 trials of 2 epochs, 2 at a time (the baseline and 3 random draws), killed with SIGKILL once a trial has finished,
    then resumed with `--resume`: what the tests below check is the resumed sweep's."""
    tmp = tmp_path_factory.mktemp('tune')
    out, log = tmp/'sweep', tmp/'first.log'
    with open(log, 'w') as f:
        p = subprocess.Popen(cli_cmd('tune', '--out', out, '--trials', 4, '--concurrency', 2, '--data', sample, *FAST,
                                     '--space', 'lr=log:1e-3:3e-2,wd=log:1e-3:0.1,act=relu|silu,p_flip=0:0.5'),
                             stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 300
        while time.time() < deadline and 'TERMINATED' not in trial_states(out).values() and p.poll() is None: time.sleep(0.5)
        os.killpg(p.pid, signal.SIGKILL)            # the driver and the Ray it started
        p.wait()
    states = trial_states(out)
    done = sorted(t for t, st in states.items() if st == 'TERMINATED')
    stamps = {t: _stamps(out/'runs'/t) for t in done}
    trials_csv_before = (out/'trials.csv').exists()
    r = run_cli('tune', '--resume', out.name, cwd=tmp)     # a relative SWEEPDIR, as a user types it
    assert r.returncode == 0, r.stderr[-3000:]
    return dict(out=out, r=r, first_log=log.read_text(), states=states, done=done, stamps=stamps, trials_csv_before=trials_csv_before)

@pytest.mark.slow
def test_sweep_writes_a_row_per_trial_with_the_params_it_used(sweep):
    out, r = sweep['out'], sweep['r']
    rows = read_csv(out/'trials.csv')
    assert len(rows) == 4 and [row['kind'] for row in rows] == ['baseline', 'search', 'search', 'search']
    assert list(rows[0])[:7] == ['trial', 'kind', 'status', 'epochs_run', 'accuracy', 'wall_time_s', 'stopped_early']
    for row in rows:                                # what the trial's own run directory says it trained with
        run = json.loads((out/'runs'/row['trial']/'run.json').read_text())
        rec = run['recipe']
        assert (float(row['lr']), float(row['wd']), row['act'], float(row['p_flip'])) == (rec['lr'], rec['wd'], rec['act'], rec['p_flip']), row
        assert (rec['arch'], rec['epochs'], rec['seed'], rec['bs']) == ('advnet_s', 2, 0, 16)
        assert rec['valid'] == 'holdout'            # a sweep chooses on held-out training images, not the test set
        epochs = read_csv(out/'runs'/row['trial']/'metrics.csv')
        assert row['status'] == 'done' and int(row['epochs_run']) == len(epochs)
        assert float(row['accuracy']) == float(epochs[-1]['accuracy']) and float(row['wall_time_s']) > 0
    base = rows[0]
    assert (float(base['lr']), float(base['wd']), base['act'], float(base['p_flip'])) == (0.01, 0.05, 'relu', 0.5)
    assert len({row['lr'] for row in rows}) == 4    # each random draw is its own
    assert (out/'accuracy.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and (out/'accuracy.png').stat().st_size > 10_000
    for text in (r.stdout + r.stderr, sweep['first_log']):
        assert 'Warning' not in text and 'Configuration for experiment' not in text, text[-2000:]
    assert 'best: trial' in r.stdout and 'reproduce it with: OMP_NUM_THREADS=1 cifar-adv fit' in r.stdout

@pytest.mark.slow
def test_best_command_reproduces_the_best_trial(sweep, tmp_path):
    out = sweep['out']
    best, rows = json.loads((out/'best.json').read_text()), read_csv(out/'trials.csv')
    full = [row for row in rows if int(row['epochs_run']) == 2]
    assert best['complete'] and best['accuracy'] == max(float(row['accuracy']) for row in full)
    assert best['metric'] == 'final accuracy on the validation split (held-out training images)' and '--valid holdout' in best['command']
    if rows[0]['epochs_run'] == '2':                # the baseline ran every epoch (ASHA may stop it when it is not first at a rung)
        assert best['baseline_accuracy'] == float(rows[0]['accuracy'])
        assert best['gain_over_baseline'] == best['accuracy'] - best['baseline_accuracy']
    else: assert 'baseline_accuracy' not in best and 'gain_over_baseline' not in best
    assert best['command'].startswith('OMP_NUM_THREADS=1 cifar-adv fit --arch advnet_s --epochs 2 ')
    env = {**os.environ, 'PATH': f"{CLI.parent}{os.pathsep}{os.environ['PATH']}"}
    r = subprocess.run(['bash', '-c', best['command'] + f" --out {tmp_path/'again'} --no_report"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((tmp_path/'again'/'metrics.json').read_text())['accuracy'] == best['accuracy']
    # every epoch's losses too, bit for bit
    assert read_csv(tmp_path/'again'/'metrics.csv') == read_csv(out/'runs'/best['best']/'metrics.csv')

@pytest.mark.slow
def test_asha_stops_a_clearly_bad_trial(tmp_path, sample):
    "Two identical good trials, then one with a learning rate far too low: at ASHA's first rung (epoch 1) it is below the others, and stopped."
    out = tmp_path/'asha'
    r = run_cli('tune', '--out', out, '--trials', 3, '--concurrency', 2, '--data', sample, *FAST, '--space', 'lr=log:1e-8:1e-1',
                '--points', 'lr=0.01;lr=0.01;lr=1e-7', '--no_baseline', '--scheduler', 'asha', '--valid', 'test')   # 100 test images, not 20 held out
    assert r.returncode == 0, r.stderr[-3000:]
    rows = read_csv(out/'trials.csv')
    assert [float(row['lr']) for row in rows] == [0.01, 0.01, 1e-7] and {row['kind'] for row in rows} == {'point'}
    bad, good = rows[2], rows[:2]
    first_epoch = lambda row: float(read_csv(out/'runs'/row['trial']/'metrics.csv')[0]['accuracy'])
    assert first_epoch(bad) < first_epoch(good[0])  # the case is as constructed
    assert (bad['epochs_run'], bad['stopped_early'], bad['status']) == ('1', 'True', 'done')
    assert all((row['epochs_run'], row['stopped_early']) == ('2', 'False') for row in good)
    assert not (out/'runs'/bad['trial']/'metrics.json').exists()      # fit_run never reached its end
    assert f"trial {bad['trial']} stopped early" in r.stdout

@pytest.mark.slow
def test_killed_sweep_resumes_without_rerunning_finished_trials(sweep):
    out, r, done = sweep['out'], sweep['r'], sweep['done']
    assert done and len(done) < 4, sweep['states']            # killed part-way, after a trial had finished
    assert not sweep['trials_csv_before'] and 'interrupted' not in sweep['first_log']   # SIGKILL: nothing ran after it
    assert 'resuming' in r.stdout
    rows = read_csv(out/'trials.csv')
    assert len(rows) == 4 and all(row['status'] == 'done' for row in rows)
    assert {t: _stamps(out/'runs'/t) for t in done} == sweep['stamps']      # not run again
    for t in done: assert f"trial {t} " not in r.stdout
    for row in rows:
        if row['trial'] not in done: assert f"trial {row['trial']} " in r.stdout             # the rest ran on resume
    assert json.loads((out/'best.json').read_text())['complete']

@pytest.mark.slow
def test_optuna_search(tmp_path, sample):
    "Optuna's TPE (`--search optuna`): the baseline first, then draws inside the space, each one the trial really trained with."
    out = tmp_path/'optuna'
    r = run_cli('tune', '--out', out, '--trials', 3, '--data', sample, *FAST, '--epochs', 1, '--search', 'optuna',
                '--scheduler', 'none', '--space', 'lr=log:1e-3:3e-2,act=relu|silu')
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((out/'sweep.json').read_text())['search'] == 'optuna'
    states = list((out/'tune').glob('searcher-state-*.pkl'))    # Ray saves the searcher it ran: an Optuna study, not random search's
    assert len(states) == 1 and b'optuna' in states[0].read_bytes() and not list((out/'tune').glob('basic-variant-state-*'))
    rows = read_csv(out/'trials.csv')
    assert [row['kind'] for row in rows] == ['baseline', 'search', 'search'] and (rows[0]['lr'], rows[0]['act']) == ('0.01', 'relu')
    for row in rows:
        run = json.loads((out/'runs'/row['trial']/'run.json').read_text())['recipe']
        assert 1e-3 <= run['lr'] <= 3e-2 and (float(row['lr']), row['act']) == (run['lr'], run['act'])
    assert len({row['lr'] for row in rows}) == 3 and 'Warning' not in r.stdout + r.stderr, r.stderr[-2000:]
    assert json.loads((out/'best.json').read_text())['complete']

@pytest.mark.parametrize('args, msg', [
    (['--space', 'momentum=0.9:0.99'], "unknown parameter 'momentum'"),
    (['--space', 'lr=1e-2:1e-2'], 'is an empty range'),
    (['--space', 'lr=log:3e-2:1e-3'], 'is a reversed range'),
    (['--space', 'p_flip=0:1.5'], 'a probability p_flip=1.5 is outside [0, 1]'),
    (['--space', 'act=relu|tanh'], "unknown activation 'tanh'"),
    (['--points', 'lr=0.01'], '--points: trial 1 gives no value for'),
    (['--trials', '0'], '--trials must be > 0'),
    (['--scheduler', 'hyperband'], 'choose asha or none'),
    (['--address', '127.0.0.1:1'], 'no Ray cluster answers there'),
    (['--resume', 'nowhere'], 'no sweep.json'),
])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, sample, args, msg, capsys, monkeypatch):
    "In this process (the checks come before Ray starts; a fresh process per case would mostly time imports)."
    from cifar_adv.cli import main
    monkeypatch.chdir(tmp_path)
    assert main(['tune', '--out', 'sweep', '--data', str(sample), *args]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('cifar-adv: error: ') and msg in lines[0], err
    assert list(tmp_path.iterdir()) == []

def test_without_ray_one_line_naming_the_extra_and_help_imports_no_ray(tmp_path):
    code = ("import sys\nsys.modules['ray'] = None\nfrom cifar_adv.cli import main\n"
            "sys.exit(main(['tune', '--out', 'sweep']))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip() == 'cifar-adv: error: the tune verb needs Ray Tune: pip install -e ".[tune]" in the repo (make install does it)'
    assert list(tmp_path.iterdir()) == []
    code = ("import sys\nfrom cifar_adv.cli import main\nmain(['--help'])\n"
            "try: main(['tune', '--help'])\nexcept SystemExit: pass\nprint('ray' in sys.modules)")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert r.stdout.strip().endswith('False') and '--space' in r.stdout and 'tune' in r.stdout
