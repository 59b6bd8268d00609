#!/usr/bin/env python3
"""pybench.py -- the Python peer of whelk-bench (bench/whelk-bench.c).

Measures what CPython's subprocess module costs for the same work as the C
peers, and prints one line, "OK <value>" or "ERR <reason>", like them:

  pybench.py version
  pybench.py spawn CHILD ITERS BUDGET [--big] [--cpu]
                                                 microseconds per spawn+wait
                                                 (--cpu: of CPU, parent and
                                                 child)
  pybench.py capture WRITER BYTES [PASSES]      GB/s captured (the best of
                                                 PASSES captures)
  pybench.py --pin=R,W MODE ...                  the same, this process pinned
                                                 to CPU R, the writer to CPU W
                                                 (whelk-bench.c, "placement")

--big first fills 1 GiB of memory (touched), to measure in a big parent.
"""
import os
import platform
import resource
import subprocess
import sys
import time


def cpu_s():
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def spawn(child, iters, budget, cpu):
    for _ in range(3):
        subprocess.run([child], check=True)
    n = 0
    c0 = cpu_s()
    t0 = time.monotonic()
    while n < iters:
        if subprocess.run([child]).returncode != 0:
            raise RuntimeError('the child failed')
        n += 1
        if n >= 10 and time.monotonic() - t0 > budget:
            break
    if cpu:
        return (cpu_s() - c0) / n * 1e6
    return (time.monotonic() - t0) / n * 1e6


WRITER_PIN = []  # ['@W'] when pinned


def capture(writer, nbytes, passes):
    argv = [writer] + WRITER_PIN + ['fill', str(nbytes)]
    best = None
    for _ in range(passes):
        t0 = time.monotonic()
        r = subprocess.run(argv, capture_output=True)
        dt = time.monotonic() - t0
        if r.returncode != 0 or len(r.stdout) != nbytes:
            raise RuntimeError('captured %d bytes, expected %d'
                               % (len(r.stdout), nbytes))
        del r
        best = dt if best is None else min(best, dt)
    return nbytes / best / 1e9


def main(argv):
    if argv[1].startswith('--pin='):
        r, w = (int(c) for c in argv[1][len('--pin='):].split(','))
        os.sched_setaffinity(0, {r})
        WRITER_PIN.append('@%d' % w)
        argv = argv[:1] + argv[2:]
    if argv[1] == 'version':
        print('OK', platform.python_version())
        return
    ballast = None
    if '--big' in argv:
        ballast = bytearray(b'\x01') * (1 << 30)  # 1 GiB, every page touched
        argv = [a for a in argv if a != '--big']
    cpu = '--cpu' in argv
    argv = [a for a in argv if a != '--cpu']
    if argv[1] == 'spawn':
        v = spawn(argv[2], int(argv[3]), float(argv[4]), cpu)
    elif argv[1] == 'capture':
        v = capture(argv[2], int(argv[3]),
                    int(argv[4]) if len(argv) > 4 else 1)
    else:
        raise RuntimeError('unknown mode ' + argv[1])
    print('OK %.6g' % v)
    del ballast


if __name__ == '__main__':
    try:
        main(sys.argv)
    except Exception as e:  # one line for the driver, as the C workers do
        print('ERR', e)
        sys.exit(1)
