/* Floating point in a freestanding guest: arithmetic, sqrt, fused multiply-add, conversions,
 * the rounding mode in frm and the accrued flags in fflags, printed with a small formatter.
 * Uses only Linux write/exit, so the differential test also runs it on qemu-riscv64. */
#define SHARDBOX_IMPLEMENTATION
#include "shardbox.h"

static char out[4096];
static size_t out_len;

static void put(const char *s)
{
    while (*s && out_len < sizeof out) out[out_len++] = *s++;
}

static void put_u64(uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) {
        char c[2] = {tmp[--n], 0};
        put(c);
    }
}

static void put_hex(uint64_t v)
{
    put("0x");
    for (int shift = 60; shift >= 0; shift -= 4) {
        char c[2] = {"0123456789abcdef"[(v >> shift) & 15], 0};
        put(c);
    }
}

static uint64_t bits(double x)
{
    union { double d; uint64_t u; } v = {x};
    return v.u;
}

static uint32_t bits_f(float x)
{
    union { float f; uint32_t u; } v = {x};
    return v.u;
}

/* x with 9 decimals, rounded by the FPU in the current mode. */
static void put_fixed(double x)
{
    if (x < 0) {
        put("-");
        x = -x;
    }
    uint64_t whole = (uint64_t)x;
    uint64_t frac = (uint64_t)((x - (double)whole) * 1e9);
    put_u64(whole);
    put(".");
    char digits[10];
    for (int i = 8; i >= 0; i--) {
        digits[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    digits[9] = 0;
    put(digits);
}

static void set_frm(unsigned mode) { __asm__ volatile("fsrm %0" : : "r"(mode)); }
static unsigned read_fflags(void)
{
    unsigned f;
    __asm__ volatile("frflags %0" : "=r"(f));
    return f;
}
static void clear_fflags(void) { __asm__ volatile("fsflags zero"); }

static void line(const char *label, double x)
{
    put(label);
    put(" = ");
    put_fixed(x);
    put(" ");
    put_hex(bits(x));
    put("\n");
}

int main(void)
{
    volatile double one = 1.0, three = 3.0, two = 2.0, tiny = 1e-300, big = 1e300;
    double pi = 0;
    for (int k = 0; k < 2000; k++) pi += (k & 1 ? -4.0 : 4.0) / (2 * k + 1);
    line("leibniz pi", pi);
    line("sqrt 2", __builtin_sqrt(two));
    line("fma", __builtin_fma(one / three, three, -one));
    line("single 1/3", (double)((float)one / (float)three));
    static const char *modes[] = {"rne", "rtz", "rdn", "rup", "rmm"};
    for (unsigned m = 0; m < 5; m++) {
        set_frm(m);
        double q = one / three;
        double nq = -one / three;
        set_frm(0);
        put(modes[m]);
        put(": 1/3 ");
        put_hex(bits(q));
        put(" -1/3 ");
        put_hex(bits(nq));
        put("\n");
    }
    clear_fflags();
    volatile double r = big * big;
    put("overflow flags ");
    put_u64(read_fflags());
    put(" ");
    put_hex(bits(r));
    put("\n");
    clear_fflags();
    r = tiny * tiny;
    put("underflow flags ");
    put_u64(read_fflags());
    put("\n");
    clear_fflags();
    r = one / (one - one);
    put("divide-by-zero flags ");
    put_u64(read_fflags());
    put("\n");
    clear_fflags();
    r = __builtin_sqrt(-one);
    put("invalid flags ");
    put_u64(read_fflags());
    put(" nan ");
    put_hex(bits(r));
    put("\n");
    put("nan single ");
    put_hex(bits_f((float)r));
    put("\n");
    long sat;
    __asm__ volatile("fcvt.w.d %0, %1, rtz" : "=r"(sat) : "f"(big));
    put("fcvt.w.d 1e300 = ");
    put_hex((uint64_t)sat);
    put("\n");
    sb_write(1, out, out_len);
    return 0;
}
