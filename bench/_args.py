"""The benchmark scripts' shared command line: a parser described by the script's own docstring, and the options
several scripts take, each added with its default as `name=default`: `bench_parser(__doc__, data=DATA, bs=256)`.
A script built on `bench_parser` answers bad input that cifar-adv refuses (a missing dataset, a bad setting) with one line
and exit 2, as the CLI does, instead of a traceback."""
import argparse, os, shlex, subprocess, sys
from pathlib import Path

COMMON = {                                       # option: argparse keywords besides its default
    'data': dict(help='the dataset: a folder of train/ and test/ or a .tgz archive'),
    'arch': dict(help='architecture'),
    'archs': dict(nargs='+', help='architectures'),
    'epochs': dict(type=int, help='training epochs'),
    'lr': dict(type=float, help='max learning rate of the one-cycle schedule'),
    'bs': dict(type=int, help='batch size'),
    'repeat': dict(type=int, help='runs of each measurement; the best is kept'),
    'rounds': dict(type=int, help='runs of each measurement, round-robin; the median is kept'),
    'out': dict(help='the JSON file written'),
}

def add_common(ap:argparse.ArgumentParser, **defaults) -> argparse.ArgumentParser:
    "Add the options of `COMMON` named in `defaults`, in that order, each with its default."
    for name, default in defaults.items():
        kw = dict(COMMON[name])
        shown = ("$CIFAR_ADV_DATA, else fastai's copy" if name == 'data' and default is None
                 else ' '.join(map(str, default)) if isinstance(default, (list, tuple)) else default)
        ap.add_argument(f'--{name}', default=default, **{**kw, 'help': f"{kw['help']} (default: {shown})".replace('%', '%%')})
    return ap

def one_line_errors(exc_type, exc, tb):
    "`sys.excepthook`: cifar-adv's own errors (a `CifarAdvError`: bad input, exit 2; a `RunFailed`: exit 1) as one line; anything else as usual."
    if not any(c.__name__ == 'CifarAdvError' for c in exc_type.__mro__): return sys.__excepthook__(exc_type, exc, tb)
    from cifar_adv.core import one_line
    sys.stdout.flush()
    print(f"{Path(sys.argv[0]).name}: error: {one_line(exc)}", file=sys.stderr, flush=True)
    os._exit(getattr(exc, 'exit_code', 2))        # an excepthook cannot choose the exit status any other way

def bench_parser(doc:str, **defaults) -> argparse.ArgumentParser:
    "A parser described by the first line of `doc` (the script's docstring), with the common options in `defaults`."
    sys.excepthook = one_line_errors
    return add_common(argparse.ArgumentParser(description=doc.splitlines()[0]), **defaults)

def run_cli(cmd:list, **kwargs) -> subprocess.CompletedProcess:
    "Run the command `cmd` (a cifar-adv verb) for a benchmark; when it fails, stop with its own last error line and exit status."
    r = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if r.returncode:
        last = (r.stderr.strip().splitlines() or ['no message'])[-1]
        shown = [Path(str(cmd[0])).name, *map(str, cmd[1:])]      # `cifar-adv fit ...` for the CLI, not the venv's full path
        print(f"{Path(sys.argv[0]).name}: `{shlex.join(shown)}` failed: {last}", file=sys.stderr)
        sys.exit(r.returncode if r.returncode > 0 else 1)   # killed by a signal: negative
    return r
