"""Run every benchmark module listed in BENCHES and print its figures."""

import importlib
import sys

BENCHES = ["bench.deploy", "bench.scale", "bench.library", "bench.notify"]


def main() -> int:
    only = sys.argv[1:]
    for name in BENCHES:
        if only and not any(part in name for part in only):
            continue
        print(f"\n## {name}", flush=True)
        importlib.import_module(name).main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
