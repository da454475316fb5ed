"""python3 programs through go-judge 0.1.0's RemoteSandbox, unchanged (the source is copied in
with "content", /usr/bin/python3 runs it), plus its /version health check. Prints
{case: what the client returned} as JSON; the assertions are in engine/tests/it/clients.rs.

Usage: python go_judge_python.py http://127.0.0.1:PORT http://127.0.0.1:CLOSED_PORT
"""

import json
import sys

from go_judge.client import RemoteSandbox

sb = RemoteSandbox(sys.argv[1])
out = {}
# check_health is true against the server and false where nothing listens.
out["health"] = sb.check_health()
out["health_closed"] = RemoteSandbox(sys.argv[2]).check_health()
# Accepted, reading stdin; then 1.3 MB of stdin.
out["accepted"] = sb.run("python", "a, b = map(int, input().split())\nprint(a + b)\n", "3 4\n")
out["big_input"] = sb.run(
    "python", "import sys\nprint(sum(int(l) for l in sys.stdin))\n", "".join(f"{i}\n" for i in range(200_000))
)
# An uncaught exception: exit 1 and the traceback on stderr.
out["exception"] = sb.run("python", "print('before')\n1 / 0\n")
# Wall clock: sleeping past clockLimit (the client sends 2 x the 0.3 s CPU limit).
out["clock_limit"] = sb.run("python", "import time\ntime.sleep(30)\n", exec_cpu_limit_ns=300_000_000)
# Memory: 300 MiB under a 64 MiB limit.
out["memory_limit"] = sb.run("python", "x = bytearray(300 << 20)\nprint(len(x))\n", exec_memory_limit_b=64 << 20)
# Output that is not ASCII, and bytes that are not UTF-8 (go-judge sends U+FFFD for them).
out["unicode"] = sb.run("python", "print('h\\u00e9llo \\u2713 <&>')\n")
out["invalid_utf8"] = sb.run("python", "import sys\nsys.stdout.buffer.write(b'a\\xffb\\n')\n")
# Sixteen inputs at once (the client's default pool has 16 threads), results in order.
out["multiple"] = sb.run_multiple("python", "n = int(input())\nprint(n * n)\n", [f"{i}\n" for i in range(16)])
# Verdicts differ within one batch: input 0 spins past the 1 s CPU limit, the others pass.
out["mixed"] = sb.run_multiple(
    "python", "n = int(input())\nwhile n == 0:\n    pass\nprint(n)\n", ["1\n", "0\n", "2\n"], exec_cpu_limit_ns=1_000_000_000
)
sb.close()
print(json.dumps(out))
