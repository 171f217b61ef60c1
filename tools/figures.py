"""The README's and the docs' figures, drawn from committed runs in results/ into nbs/images/.

    python tools/figures.py [--run advnet_hr-60ep]

`curves.png`: train and test loss, and test accuracy, per epoch of one committed run (its `metrics.csv`), with the final
test accuracy (its `metrics.json`) marked. Each file is written to a temporary name and renamed into place.
"""
import argparse, csv, json, sys
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

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--run', default='advnet_hr-60ep', help='committed run in results/ (default: advnet_hr-60ep)')
    a = ap.parse_args()
    print(f"wrote {curves(a.run, ROOT/'nbs'/'images'/'curves.png')}")
