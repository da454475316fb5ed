/* Benchmark and test kernels the host calls by name in forks of the initialised template
 * (vm/benches/vm.rs, vm/tests/it): each returns a checksum so the caller can verify the work. */
#define SHARDBOX_IMPLEMENTATION
#include "shardbox.h"

static uint64_t table[1 << 16];
static uint64_t counter;

/* The cheapest call: a + 1. */
SHARDBOX_EXPORT long empty(long a) { return a + 1; }

/* Writes one global (one copy-on-write page per fork). */
SHARDBOX_EXPORT long touch(long a) { counter += (uint64_t)a; return (long)counter; }

/* A tight integer loop: n iterations of a few ALU ops and a branch. */
SHARDBOX_EXPORT long count(long n)
{
    uint64_t x = 0, y = 1;
    for (long i = 0; i < n; i++) {
        x += y ^ (uint64_t)i;
        y = (y << 1) | (x >> 63);
    }
    return (long)(x ^ y);
}

/* Walks the 512 KiB table with a stride, n loads and stores. */
SHARDBOX_EXPORT long memwalk(long n)
{
    uint64_t sum = 0;
    unsigned idx = 0;
    for (long i = 0; i < n; i++) {
        idx = (idx + 4099) & ((1u << 16) - 1);
        sum += table[idx];
        table[idx] = sum;
    }
    return (long)sum;
}

/* Multiplies and divides: n rounds. */
SHARDBOX_EXPORT long muldiv(long n)
{
    uint64_t a = 0x9e3779b97f4a7c15u, acc = 0;
    for (long i = 1; i <= n; i++) {
        a = a * 6364136223846793005u + 1442695040888963407u;
        acc += a / (uint64_t)i + a % (uint64_t)(i + 7);
    }
    return (long)acc;
}

/* Recursive calls: fib(n). */
SHARDBOX_EXPORT long fib(long n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

/* Host calls: n rounds of malloc + memset + memcpy + free. */
SHARDBOX_EXPORT long heap(long n)
{
    long sum = 0;
    for (long i = 0; i < n; i++) {
        char *p = sb_malloc(256), *q = sb_malloc(256);
        if (!p || !q) return -1;
        sb_memset(p, (int)i, 256);
        sb_memcpy(q, p, 256);
        sum += q[255];
        sb_free(p);
        sb_free(q);
    }
    return sum;
}

int main(void)
{
    for (unsigned i = 0; i < (1u << 16); i++) table[i] = i;
    return 0;
}
