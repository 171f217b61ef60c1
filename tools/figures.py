"""The README's and the docs' figures, drawn from committed runs in results/ into nbs/images/.

    python tools/figures.py [--run advnet_hr-60ep] [--data ../shared/data/cifar10.tgz]

`curves.png`: train and test loss, and test accuracy, per epoch of one committed run (its `metrics.csv`), with the final
test accuracy (its `metrics.json`) marked.
`accuracy_params.png`: every committed run's test accuracy against its parameters and against its multiply-adds per
image (torchinfo, via `arch_info`), both on log scales, with the 100k and 200k budgets and the seeds' own test-set figures
(`bench/results/seeds.json`; the two measured on the training set are left out).
`fast_vs_default.png`: test accuracy after each epoch against epochs and against CPU-minutes, for today's recipe and the
fast one (`FAST_RUNS`, issue 38).
`reports/<run>/`: the run report's curves, top losses and GradCAM of each committed run in `REPORT_RUNS`, made by
`cifar-adv report`'s `make_report` on a copy of `results/<run>` (its safe format) with the dataset at `--data`; a run
not committed yet is skipped.
Each file is written to a temporary name and renamed into place.
"""
import argparse, csv, json, os, shutil, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

def curves(run:str, dest:Path) -> Path:
    "Loss and accuracy curves of `results/<run>` as a PNG at `dest`."
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from cifar_adv.core import atomic_path
    d = ROOT/'results'/run
    rows = list(csv.DictReader(open(d/'metrics.csv')))
    m = json.loads((d/'metrics.json').read_text())
    ep = [int(r['epoch']) + 1 for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2), dpi=100)
    a.plot(ep, [float(r['train_loss']) for r in rows], label='train loss')
    a.plot(ep, [float(r['valid_loss']) for r in rows], label='test loss')
    a.set_xlabel('epoch'); a.legend(); a.set_title('loss (label-smoothed cross-entropy)')
    b.plot(ep, [100 * float(r['accuracy']) for r in rows], color='C2')
    b.axhline(100 * m['accuracy'], color='grey', lw=0.8, ls='--')
    b.set_xlabel('epoch'); b.set_ylabel('%')
    b.set_title(f"test accuracy: {100 * m['accuracy']:.2f}% at epoch {m['epochs']}")
    fig.suptitle(f"{run}: {m['arch']}, {m['params']:,} parameters, on a 2-core CPU", fontsize=10)
    fig.tight_layout()
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, format='png')
    plt.close(fig)
    return dest

SEED_PRESETS = {'000': 'seed000', '003': 'seed003', '004': 'seed004', '002': 'resnet18'}   # the seeds' nets as rebuilt here

def accuracy_params(dest:Path) -> Path:
    "Test accuracy of every committed run against parameters and against multiply-adds (log scales), budgets and seeds marked, as a PNG at `dest`."
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from cifar_adv.core import atomic_path
    from cifar_adv.summary import arch_info
    runs = [m for f in sorted((ROOT/'results').glob('*/metrics.json')) if (m := json.loads(f.read_text())).get('n_valid') == 10_000]
    info = {}
    def facts(arch, kw):
        key = (arch, json.dumps(kw, sort_keys=True))
        if key not in info: info[key] = arch_info(arch, **{k: v for k, v in kw.items() if k in ('width',)})
        return info[key]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=100, sharey=True)
    epochs = sorted({m['epochs'] for m in runs})
    colors = {e: f'C{i}' for i, e in enumerate(epochs)}
    for ax, key, label in ((axes[0], 'params', 'parameters'), (axes[1], 'macs', 'multiply-adds per 32x32 image')):
        for e in epochs:
            pts = [(facts(m['arch'], m.get('arch_kwargs') or {})[key], 100 * m['accuracy']) for m in runs if m['epochs'] == e]
            ax.scatter(*zip(*pts), s=22, color=colors[e], label=f'{e} epochs', zorder=3)
        best = {}
        for m in runs:
            if m['accuracy'] > best.get(m['arch'], (0,))[0]: best[m['arch']] = (m['accuracy'], facts(m['arch'], m.get('arch_kwargs') or {})[key])
        for arch, (acc, x) in best.items():
            ax.annotate(arch, (x, 100 * acc), textcoords='offset points', xytext=(4, 3), fontsize=7)
        seeds = json.loads((ROOT/'bench'/'results'/'seeds.json').read_text())
        for r in seeds:
            if not r.get('on_test_set'): continue
            num = r['seed'][:3]
            x = facts(SEED_PRESETS[num], {})[key] if num in SEED_PRESETS else (r['params_limit'] if key == 'params' else None)
            if x is None: continue
            ax.scatter([x], [r['final_accuracy']], marker='<' if num not in SEED_PRESETS else 'D', s=30, facecolors='none',
                       edgecolors='k', zorder=4, label='a seed write-up (its own figure)' if r is seeds[0] else None)
            ax.annotate(f'seed {num}', (x, r['final_accuracy']), textcoords='offset points', xytext=(4, -9), fontsize=7)
        if key == 'params':
            for b in (100_000, 200_000): ax.axvline(b, color='grey', lw=0.8, ls='--')
            for b, t in ((100_000, '100k '), (200_000, '200k ')): ax.text(b, ax.get_ylim()[0], t, fontsize=7, va='bottom', ha='right')
        ax.set_xscale('log'); ax.set_xlabel(label); ax.grid(alpha=0.3)
    axes[0].set_ylabel('test accuracy, final weights (%)')
    axes[1].legend(fontsize=7, loc='lower right')
    fig.suptitle('every committed run in results/ (official 10,000-image test set); seed markers: < = under the budget, parameters not stated', fontsize=9)
    fig.tight_layout()
    with atomic_path(dest) as tmp: fig.savefig(tmp, format='png')
    plt.close(fig)
    return dest

REPORT_RUNS = ('advnet_hr-60ep', 'resnet18-20ep')   # committed runs whose report figures the docs show
FAST_RUNS = {"today's recipe: advnet_hr, 60 epochs": ('advnet_hr-60ep', 'advnet_hr-60ep-seed1'),
             "today's recipe: advnet_hr, 15 epochs": ('advnet_hr-15ep',),
             'the fast recipe: airnet, 12 epochs': ('airnet-12ep-fast-muon', 'airnet-12ep-fast-muon-seed1'),
             'the fast recipe, SGD for the filters: airnet, 12 epochs': ('airnet-12ep-fast', 'airnet-12ep-fast-seed1'),
             'the fast recipe: airnet, 60 epochs': ('airnet-60ep-fast-muon', 'airnet-60ep-fast-muon-seed1'),
             'the fast recipe, SGD for the filters, flips at random: airnet, 60 epochs': ('airnet-60ep-fast',),
             "today's recipe under 100k: advnet_s, 60 epochs": ('advnet_s-60ep', 'advnet_s-60ep-seed1'),
             'the fast recipe, SGD for the filters, flips at random, under 100k: airnet width 0.7, 60 epochs': ('airnet-60ep-fast-width0.7',),
             'the fast recipe, SGD for the filters, under 100k: airnet width 0.7, 60 epochs': ('airnet-60ep-fast-seed1-width0.7', 'airnet-60ep-fast-seed2-width0.7'),
             'the fast recipe, under 100k: airnet width 0.7, 60 epochs': ('airnet-60ep-fast-muon-width0.7', 'airnet-60ep-fast-muon-seed1-width0.7')}   # issue 38's comparison

def fast_vs_default(dest:Path) -> Path:
    "Test accuracy after each epoch of the runs in `FAST_RUNS` against epochs and against CPU-minutes (per epoch, the fastest epoch of the recipe's runs, in seconds, times its threads: the machine is at times shared, so not every recorded time is an idle one), as a PNG at `dest`; a run not committed is left out."
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from cifar_adv.core import atomic_path
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 5), dpi=100)
    def cpu_min(d): return min(float(r['seconds']) for r in csv.DictReader(open(d/'timings.csv'))) * json.loads((d/'metrics.json').read_text())['threads'] / 60
    for i, (label, runs) in enumerate(FAST_RUNS.items()):
        ds = [ROOT/'results'/r for r in runs if (ROOT/'results'/r/'metrics.json').exists()]
        per = min(map(cpu_min, ds), default=0)          # a recipe's cost per epoch: its runs' fastest (the seeds train alike)
        for j, d in enumerate(ds):
            acc = [100 * float(r['accuracy']) for r in csv.DictReader(open(d/'metrics.csv'))]
            kw = dict(color=f'C{i}', lw=1.2, alpha=1 if j == 0 else 0.5, label=label if j == 0 else None)
            a.plot(range(1, len(acc) + 1), acc, **kw); b.plot([per * (k + 1) for k in range(len(acc))], acc, **kw)
    for ax, x in ((a, 'epochs'), (b, "CPU-minutes (per epoch: the recipe's fastest x its threads)")):
        ax.set_xlabel(x); ax.set_ylabel('test accuracy (%)'); ax.set_ylim(40, 95); ax.grid(alpha=0.3)
        for y in (85, 90): ax.axhline(y, color='grey', lw=0.7, ls='--')
    fig.legend(*a.get_legend_handles_labels(), fontsize=8, loc='lower center', ncol=2)     # below both panels, clear of the curves
    fig.suptitle("Test accuracy after each epoch, final weights of each epoch (a seed's second run paler)", fontsize=10)
    fig.tight_layout(rect=(0, 0.04 * ((len(FAST_RUNS) + 1) // 2) + 0.03, 1, 1))     # room for the legend's rows
    with atomic_path(dest) as tmp: fig.savefig(tmp, format='png')
    plt.close(fig)
    return dest

REPORT_FIGS = ('curves.png', 'top_losses.png', 'gradcam.png')

def report_figures(run:str, data:str, dest:Path) -> Path:
    "The report figures (`REPORT_FIGS`) of `results/<run>`, made from its committed weights on the test set at `data`, into `dest`."
    from cifar_adv.core import atomic_path
    from cifar_adv.report import make_report
    with tempfile.TemporaryDirectory() as tmp:
        d = shutil.copytree(ROOT/'results'/run, Path(tmp)/run)       # make_report adds to metrics.json: never in results/
        r = make_report(d, data=data, device='cpu')
        dest.mkdir(parents=True, exist_ok=True)
        for f in REPORT_FIGS:
            with atomic_path(dest/f) as t: shutil.copyfile(r['out']/f, t)
    return dest

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--run', default='advnet_hr-60ep', help='committed run in results/ (default: advnet_hr-60ep)')
    ap.add_argument('--data', default=os.path.relpath(ROOT.parent/'shared'/'data'/'cifar10.tgz'), help='CIFAR-10 for the report figures')
    a = ap.parse_args()
    print(f"wrote {curves(a.run, ROOT/'nbs'/'images'/'curves.png')}")
    print(f"wrote {accuracy_params(ROOT/'nbs'/'images'/'accuracy_params.png')}")
    print(f"wrote {fast_vs_default(ROOT/'nbs'/'images'/'fast_vs_default.png')}")
    for run in REPORT_RUNS:
        if not Path(a.data).exists(): print(f"skipped the report figures of {run}: no dataset at {a.data} (pass --data)")
        elif (ROOT/'results'/run/'model.safetensors').is_file(): print(f"wrote {report_figures(run, a.data, ROOT/'nbs'/'images'/'reports'/run)}")
        else: print(f"skipped the report figures of {run}: its weights are not here (kept out of git: see results/SHA256SUMS and its run.json's command)")
