/* A tenant with a handler exported by name. main() is the template's init: it builds a table
 * on the host heap once. The host then calls `handle` (and `add`) by symbol name in forks of the
 * initialised template, arguments in a0.., result in a0. */
#define SHARDBOX_IMPLEMENTATION
#include "shardbox.h"

static uint64_t *squares;
static const long squares_len = 1024;

/* Formats v in decimal into buf (at least 21 bytes); returns the length. */
static size_t format_u64(char *buf, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    return n;
}

/* Sum of the squares of 0..n (n clamped to the table), written to stdout and returned. */
SHARDBOX_EXPORT long handle(long n)
{
    if (n < 0) n = 0;
    if (n > squares_len) n = squares_len;
    uint64_t sum = 0;
    for (long i = 0; i < n; i++) sum += squares[i];
    char line[64];
    static const char prefix[] = "sum of squares: ";
    sb_memcpy(line, prefix, sizeof prefix - 1);
    size_t len = sizeof prefix - 1;
    len += format_u64(line + len, sum);
    line[len++] = '\n';
    sb_write(1, line, len);
    return (long)sum;
}

SHARDBOX_EXPORT long add(long a, long b)
{
    return a + b;
}

int main(void)
{
    squares = sb_malloc(squares_len * sizeof *squares);
    if (squares == NULL) return 1;
    for (long i = 0; i < squares_len; i++) squares[i] = (uint64_t)(i * i);
    /* Run once during init so a plain `run` of the ELF shows the handler working too. */
    return handle(10) == 285 ? 0 : 2;
}
