"""C++ through go-judge 0.1.0's RemoteSandbox, unchanged: compile (copyOutCached), run (fileId
copy-in), delete the cached binary. Prints {case: what the client returned} as JSON; the
assertions are in engine/tests/it/clients.rs.

Usage: python go_judge_cpp.py http://127.0.0.1:PORT
"""

import json
import sys
from importlib.metadata import version

import requests
from go_judge.client import RemoteSandbox


class Observed(RemoteSandbox):
    """The client as published; only records each cached file it deletes and what the
    server's GET /file listed just before, so the test can check the delete went through."""

    deleted = []

    def cleanup_file(self, file_id):
        listed = requests.get(f"{self.api_url}/file", timeout=20).json()
        self.deleted.append({"id": file_id, "listed": listed})
        super().cleanup_file(file_id)


A_PLUS_B = "#include <iostream>\nint main() { long a, b; std::cin >> a >> b; std::cout << a + b << std::endl; }\n"

sb = Observed(sys.argv[1])
out = {"version": version("go-judge")}
# Accepted, reading stdin.
out["accepted"] = sb.run("cpp", A_PLUS_B, "1 2\n")
# g++ fails: the client's "Compile Error" path, g++'s diagnostics in stderr.
out["compile_error"] = sb.run("cpp", "int main() { return undeclared; }\n")
# A non-zero exit and a crash.
out["exit_3"] = sb.run("cpp", "int main() { return 3; }\n")
out["segfault"] = sb.run("cpp", "int main() { volatile int *p = nullptr; return *p; }\n")
# Writes to stderr and exits 0.
out["stderr"] = sb.run("cpp", '#include <cstdio>\nint main() { std::fputs("oops\\n", stderr); }\n')
# Limits: CPU time (0.5 s), memory (64 MiB), and the client's 10240-byte stdout collector.
out["cpu_limit"] = sb.run("cpp", "int main() { for (;;) {} }\n", exec_cpu_limit_ns=500_000_000)
out["memory_limit"] = sb.run(
    "cpp",
    "#include <vector>\n#include <cstdio>\n"
    "int main() { std::vector<char> v(256 << 20, 1); std::printf(\"%d\", v[4096]); }\n",
    exec_memory_limit_b=64 << 20,
)
out["output_limit"] = sb.run(
    "cpp", "#include <string>\n#include <iostream>\nint main() { std::cout << std::string(20000, 'x'); }\n"
)
# One compile, six inputs run in parallel by the client's thread pool.
out["multiple"] = sb.run_multiple("cpp", A_PLUS_B, [f"{i} {i}\n" for i in range(6)])
# The package README's custom language: C through gcc, registered at run time, run under
# 32 MiB (and 1 s of CPU rather than the README's 0.1 s: its 0.2 s wall limit could expire on
# a loaded machine).
sb.register_language("c", {
    "src_name": "main.c",
    "bin_name": "main",
    "compile": {"args": ["/usr/bin/gcc", "main.c", "-o", "main"], "env": ["PATH=/usr/bin:/bin"]},
    "run": {"args": ["./main"], "env": ["PATH=/usr/bin:/bin"]},
})
out["c_readme"] = sb.run(
    "c", '#include <stdio.h>\nint main(void) { puts("c"); return 0; }\n',
    exec_cpu_limit_ns=1_000_000_000, exec_memory_limit_b=33_554_432,
)
out["deleted"] = Observed.deleted
sb.close()
print(json.dumps(out))
