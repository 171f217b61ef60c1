"""The seeds' own figures, read from their write-ups (not re-run): epochs logged, final and best test accuracy, parameters.

    python bench/seeds.py [--seeds ../shared/seeds] [--out bench/results/seeds.json]

For each write-up: the stated parameter count ("Total params: N", else the "less than Nk" the write-up targets),
the number of "Test set: ... Accuracy: a/b (x%)" lines (one per epoch), the last and the best of them, and `b`, the
number of images they were computed on. A log whose "test" accuracy is over 50,000 images was computed on the
training set; those rows are flagged (`on_test_set: false`) and left out of the comparison in the README.
"""
import json, re
from pathlib import Path
from _paths import SHARED
from _args import bench_parser, add_common
from cifar_adv.core import atomic_write_text

ap = bench_parser(__doc__)
ap.add_argument('--seeds', default=str(SHARED/'seeds'))
a = add_common(ap, out='bench/results/seeds.json').parse_args()

rows = []
for f in sorted(Path(a.seeds).glob('*.txt')):
    t = f.read_text(errors='replace')
    tests = [(int(c), int(n), float(p)) for c, n, p in re.findall(r'Test set:.*?Accuracy: (\d+)/(\d+) \(([\d.]+)%\)', t)]
    if not tests: continue
    m = re.search(r'Total params: ([\d,]+)', t)
    limit = re.search(r'[Pp]arams (?:to be )?less than (\d+)k|Parameters < (\d+)k', t)
    rows.append(dict(seed=f.name, params=int(m[1].replace(',', '')) if m else None,
                     params_limit=int(next(g for g in limit.groups() if g)) * 1000 if limit else None,
                     epochs=len(tests), final_accuracy=tests[-1][2], best_accuracy=max(p for *_, p in tests),
                     best_epoch=1 + max(range(len(tests)), key=lambda i: tests[i][2]), n_images=tests[-1][1],
                     on_test_set=tests[-1][1] == 10000))
atomic_write_text(a.out, json.dumps(rows, indent=2) + '\n')
print(json.dumps(rows, indent=2))
