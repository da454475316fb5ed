/* Exercises the host heap: thousands of allocations of mixed sizes, reallocs that grow and
 * shrink, calloc zeroing, memcmp checks, frees in a scrambled order. Exits 0 and prints
 * "malloc: ok" when every check holds, else a non-zero code naming the failed check. */
#define SHARDBOX_IMPLEMENTATION
#include "shardbox.h"

#define SLOTS 512

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(void)
{
    unsigned char *slot[SLOTS] = {0};
    size_t size[SLOTS] = {0};
    for (int round = 0; round < 8; round++) {
        for (int i = 0; i < SLOTS; i++) {
            size_t want = (size_t)(next() % 4096) + 1;
            if (slot[i] == NULL) {
                slot[i] = sb_malloc(want);
                if (slot[i] == NULL) return 10;
            } else {
                unsigned char *grown = sb_realloc(slot[i], want);
                if (grown == NULL) return 11;
                /* The common prefix survives a realloc. */
                size_t keep = want < size[i] ? want : size[i];
                for (size_t k = 0; k < keep; k++)
                    if (grown[k] != (unsigned char)(i + round - 1)) return 12;
                slot[i] = grown;
            }
            size[i] = want;
            sb_memset(slot[i], i + round, want);
        }
        /* Free a pseudo-random half. */
        for (int i = 0; i < SLOTS; i++) {
            if (next() & 1) {
                sb_free(slot[i]);
                slot[i] = NULL;
                size[i] = 0;
            }
        }
    }
    uint64_t *zeros = sb_calloc(1000, sizeof *zeros);
    if (zeros == NULL) return 13;
    for (int i = 0; i < 1000; i++)
        if (zeros[i] != 0) return 14;
    unsigned char a[256], b[256];
    sb_memset(a, 7, sizeof a);
    sb_memcpy(b, a, sizeof b);
    if (sb_memcmp(a, b, sizeof a) != 0) return 15;
    b[200] = 8;
    if (sb_memcmp(a, b, sizeof a) >= 0) return 16;
    sb_memmove(a + 1, a, 100);
    if (sb_strlen("twelve chars") != 12) return 17;
    for (int i = 0; i < SLOTS; i++) sb_free(slot[i]);
    sb_free(zeros);
    sb_puts("malloc: ok\n");
    return 0;
}
