/* Differential test: floating point through glibc: printf of doubles in every style, rounding
 * modes via fesetround, exception flags via fetestexcept, conversions, libm. */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static volatile double vd[] = {0.0, -0.0, 1.0, -1.5, 0.1, 1.0 / 3.0, 2.5, 3.5, -2.5, 1e300,
                               -1e-300, 4.9e-324, DBL_MAX, DBL_MIN, 123456789.987654321, M_PI};
static volatile float vf[] = {0.0f, 1.0f, 0.1f, -2.5f, 3.4e38f, 1.4e-45f, 16777217.0f};
#define ND (sizeof vd / sizeof vd[0])
#define NF (sizeof vf / sizeof vf[0])

static uint64_t bits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
static uint32_t bitsf(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }

static const int modes[] = {FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD};
static const char *names[] = {"nearest", "towardzero", "downward", "upward"};

int main(void)
{
    for (unsigned i = 0; i < ND; i++) {
        double x = vd[i];
        printf("%u: %.17g %e %.3f %a %g\n", i, x, x, x, x, x);
    }
    for (unsigned i = 0; i < NF; i++)
        printf("f%u: %.9g %08x %.20f\n", i, (double)vf[i], bitsf(vf[i]), (double)vf[i]);
    for (unsigned m = 0; m < 4; m++) {
        fesetround(modes[m]);
        /* volatile: GCC would otherwise hoist or fold these across fesetround. */
        volatile double a = 1.0, b = 3.0, c = 1e308, d = 0.1, h = 2.5, nh = -2.5, mh = -0.5;
        double q = a / b, nq = -a / b, s = sqrt(2.0 * a), big = c * 10.0, f = fma(d, b, -0.3);
        float fq = (float)a / (float)b;
        long li = lrint(h), lj = lrint(nh);
        printf("%s: %016llx %016llx %016llx %016llx %016llx %08x %ld %ld rint(2.5)=%g nearbyint(-0.5)=%g\n",
               names[m], (unsigned long long)bits(q), (unsigned long long)bits(nq),
               (unsigned long long)bits(s), (unsigned long long)bits(big),
               (unsigned long long)bits(f), bitsf(fq), li, lj, rint(h), nearbyint(mh));
        volatile double p1 = 2.0005, p2 = -2.0005, p3 = 0.5, p4 = 1.5;
        printf("%s printf: %.3f %.3f %.0f %.0f\n", names[m], p1, p2, p3, p4);
    }
    fesetround(FE_TONEAREST);
    volatile double zero = 0.0, one = 1.0, huge = DBL_MAX, tiny = DBL_MIN;
    feclearexcept(FE_ALL_EXCEPT);
    volatile double r = one / zero;
    printf("1/0=%g divbyzero=%d\n", r, !!fetestexcept(FE_DIVBYZERO));
    feclearexcept(FE_ALL_EXCEPT);
    r = zero / zero;
    printf("0/0 nan=%d bits=%016llx invalid=%d\n", isnan(r), (unsigned long long)bits(r),
           !!fetestexcept(FE_INVALID));
    feclearexcept(FE_ALL_EXCEPT);
    r = huge * 2.0;
    printf("overflow=%d inexact=%d\n", !!fetestexcept(FE_OVERFLOW), !!fetestexcept(FE_INEXACT));
    feclearexcept(FE_ALL_EXCEPT);
    r = tiny / 3.0;
    printf("underflow=%d r=%a\n", !!fetestexcept(FE_UNDERFLOW), r);
    feclearexcept(FE_ALL_EXCEPT);
    r = one + one;
    printf("exact flags=%d\n", fetestexcept(FE_ALL_EXCEPT));
    printf("libm: %.17g %.17g %.17g %.17g %.17g %.17g\n", exp(1.0), log(10.0), sin(1.0), cos(1.0),
           pow(2.0, 0.5), atan2(1.0, 2.0));
    printf("minmax: %g %g %g %g\n", fmin(-0.0, 0.0), fmax(-0.0, 0.0), fmin(NAN, 1.0), fmax(2.0, NAN));
    printf("class: %d %d %d %d\n", fpclassify(0.0), fpclassify(4.9e-324), fpclassify(1.0), fpclassify(INFINITY));
    long long sat;
    __asm__ volatile("fcvt.l.d %0, %1, rtz" : "=r"(sat) : "f"(vd[9]));
    unsigned long long usat;
    __asm__ volatile("fcvt.lu.d %0, %1, rtz" : "=r"(usat) : "f"(vd[3]));
    printf("fcvt: %lld %llu %ld %d\n", sat, usat, (long)vd[14], (int)vf[6]);
    double acc = 0;
    for (int i = 1; i <= 100000; i++) acc += 1.0 / ((double)i * i);
    printf("basel %.15f\n", acc);
    float facc = 0;
    for (int i = 1; i <= 1000; i++) facc = fmaf((float)i, 0.001f, facc);
    printf("fmaf sum %.9g\n", (double)facc);
    return 0;
}
