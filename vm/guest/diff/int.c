/* Differential test: integer semantics (RV64IM edge cases), printed with glibc printf. */
#include <stdint.h>
#include <stdio.h>
#include <inttypes.h>

static volatile int64_t vals[] = {0, 1, -1, 2, -2, 7, -7, INT64_MAX, INT64_MIN, 0x7fffffff,
                                  -0x80000000LL, 0xffffffffLL, 0x123456789abcdefLL};
#define N (sizeof vals / sizeof vals[0])

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ULL; }

int main(void)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned i = 0; i < N; i++) {
        for (unsigned j = 0; j < N; j++) {
            int64_t a = vals[i], b = vals[j];
            uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
            int64_t q, r;
            uint64_t uq, ur;
            /* RISC-V defines division by zero and overflow; C does not, so use the instructions. */
            __asm__("div %0, %1, %2" : "=r"(q) : "r"(a), "r"(b));
            __asm__("rem %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
            __asm__("divu %0, %1, %2" : "=r"(uq) : "r"(ua), "r"(ub));
            __asm__("remu %0, %1, %2" : "=r"(ur) : "r"(ua), "r"(ub));
            int64_t qw, rw, mulh, mulhsu;
            uint64_t mulhu;
            __asm__("divw %0, %1, %2" : "=r"(qw) : "r"(a), "r"(b));
            __asm__("remw %0, %1, %2" : "=r"(rw) : "r"(a), "r"(b));
            __asm__("mulh %0, %1, %2" : "=r"(mulh) : "r"(a), "r"(b));
            __asm__("mulhsu %0, %1, %2" : "=r"(mulhsu) : "r"(a), "r"(b));
            __asm__("mulhu %0, %1, %2" : "=r"(mulhu) : "r"(ua), "r"(ub));
            h = mix(h, (uint64_t)q); h = mix(h, (uint64_t)r); h = mix(h, uq); h = mix(h, ur);
            h = mix(h, (uint64_t)qw); h = mix(h, (uint64_t)rw); h = mix(h, (uint64_t)mulh);
            h = mix(h, (uint64_t)mulhsu); h = mix(h, mulhu);
            h = mix(h, ua * ub); h = mix(h, (uint64_t)(int64_t)(int32_t)(ua * ub));
            h = mix(h, ua << (ub & 63)); h = mix(h, ua >> (ub & 63));
            h = mix(h, (uint64_t)(a >> (ub & 63)));
            h = mix(h, (uint64_t)(int64_t)(int32_t)((uint32_t)ua << (ub & 31)));
            h = mix(h, (uint64_t)(int64_t)((int32_t)ua >> (ub & 31)));
            h = mix(h, (uint64_t)(a < b)); h = mix(h, (uint64_t)(ua < ub));
        }
        printf("%2u %20" PRId64 " %016" PRIx64 "\n", i, vals[i], h);
    }
    printf("div(INT64_MIN,-1)=%" PRId64 " clz-ish=%d popcount=%d\n", INT64_MIN / vals[2] * 0 + INT64_MIN,
           __builtin_clzll((uint64_t)vals[11]), __builtin_popcountll((uint64_t)vals[12]));
    return (int)(h & 0x7f);
}
