/* Differential test: glibc malloc/realloc/free under churn, string and memory functions, qsort. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static int cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    enum { SLOTS = 300 };
    char *slot[SLOTS] = {0};
    size_t len[SLOTS] = {0};
    uint64_t sum = 0;
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < SLOTS; i++) {
            size_t want = next() % (round & 1 ? 200000 : 300) + 1;
            char *p = realloc(slot[i], want);
            if (!p) { puts("realloc failed"); return 1; }
            size_t keep = len[i] < want ? len[i] : want;
            for (size_t k = 0; k < keep; k += 97) sum += (unsigned char)p[k];
            memset(p, 'a' + (i + round) % 26, want);
            slot[i] = p;
            len[i] = want;
            if (next() % 3 == 0) { free(slot[i]); slot[i] = NULL; len[i] = 0; }
        }
    }
    for (int i = 0; i < SLOTS; i++) free(slot[i]);
    printf("churn sum %llu\n", (unsigned long long)sum);

    enum { N = 50000 };
    uint32_t *v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++) v[i] = (uint32_t)next();
    qsort(v, N, sizeof *v, cmp);
    int sorted = 1;
    for (int i = 1; i < N; i++) sorted &= v[i - 1] <= v[i];
    printf("qsort sorted=%d first=%u median=%u last=%u\n", sorted, v[0], v[N / 2], v[N - 1]);
    free(v);

    char buf[512];
    strcpy(buf, "The quick brown fox");
    strcat(buf, " jumps over the lazy dog");
    printf("%s|%zu|%s|%s|%d\n", buf, strlen(buf), strchr(buf, 'q'), strrchr(buf, 'o'),
           strcmp("abc", "abd"));
    memmove(buf + 4, buf, 20);
    buf[40] = 0;
    printf("memmove: %s\n", buf);
    char *dup = strdup("duplicate me");
    printf("%s %d %s\n", dup, memcmp(dup, "duplicate", 9), strstr(dup, "ate"));
    free(dup);
    void *aligned = aligned_alloc(4096, 8192);
    printf("aligned=%d\n", ((uintptr_t)aligned & 4095) == 0);
    free(aligned);
    char num[64];
    snprintf(num, sizeof num, "%d %x %lld %s %c %5.2f|%-6s|", -42, 255, -1234567890123LL, "s", 'c', 3.14159, "ab");
    puts(num);
    return 0;
}
