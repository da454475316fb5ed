/* Differential test: FP benchmark kernels as GCC compiles them for rv64gc (fused multiply-adds
 * from -ffp-contract=fast, conversions, sqrt): n-body, matrix multiply, mandelbrot, a float
 * dot product. Results printed with glibc printf. */
#include <math.h>
#include <stdio.h>

#define BODIES 5
static double pos[BODIES][3], vel[BODIES][3], mass[BODIES];

static void nbody_init(void)
{
    for (int i = 0; i < BODIES; i++) {
        for (int k = 0; k < 3; k++) {
            pos[i][k] = (i + 1) * (k + 2) * 0.37 - 1.1;
            vel[i][k] = (i - 2) * (k + 1) * 0.013;
        }
        mass[i] = 1.0 + i * 0.5;
    }
}

static double energy(void)
{
    double e = 0;
    for (int i = 0; i < BODIES; i++) {
        e += 0.5 * mass[i] * (vel[i][0] * vel[i][0] + vel[i][1] * vel[i][1] + vel[i][2] * vel[i][2]);
        for (int j = i + 1; j < BODIES; j++) {
            double dx = pos[i][0] - pos[j][0], dy = pos[i][1] - pos[j][1], dz = pos[i][2] - pos[j][2];
            e -= mass[i] * mass[j] / sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}

static void advance(double dt)
{
    for (int i = 0; i < BODIES; i++)
        for (int j = i + 1; j < BODIES; j++) {
            double dx = pos[i][0] - pos[j][0], dy = pos[i][1] - pos[j][1], dz = pos[i][2] - pos[j][2];
            double d2 = dx * dx + dy * dy + dz * dz;
            double mag = dt / (d2 * sqrt(d2));
            vel[i][0] -= dx * mass[j] * mag; vel[i][1] -= dy * mass[j] * mag; vel[i][2] -= dz * mass[j] * mag;
            vel[j][0] += dx * mass[i] * mag; vel[j][1] += dy * mass[i] * mag; vel[j][2] += dz * mass[i] * mag;
        }
    for (int i = 0; i < BODIES; i++)
        for (int k = 0; k < 3; k++) pos[i][k] += dt * vel[i][k];
}

#define N 48
static double a[N][N], b[N][N], c[N][N];

int main(void)
{
    nbody_init();
    printf("nbody e0 %.12f\n", energy());
    for (int s = 0; s < 2000; s++) advance(0.001);
    printf("nbody e1 %.12f\n", energy());

    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = sin(i * 0.1 + j * 0.01);
            b[i][j] = cos(i * 0.02 - j * 0.3);
        }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < N; k++) s += a[i][k] * b[k][j];
            c[i][j] = s;
        }
    double trace = 0;
    for (int i = 0; i < N; i++) trace += c[i][i];
    printf("matmul trace %.15g c[3][7] %a\n", trace, c[3][7]);

    long inside = 0;
    for (int y = 0; y < 60; y++)
        for (int x = 0; x < 80; x++) {
            double cr = -2.0 + x * 0.03125, ci = -1.2 + y * 0.04, zr = 0, zi = 0;
            int it = 0;
            while (it < 200 && zr * zr + zi * zi < 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2 * zr * zi + ci;
                zr = t;
                it++;
            }
            inside += it;
        }
    printf("mandelbrot iterations %ld\n", inside);

    float fa[1000], fb[1000], dot = 0;
    for (int i = 0; i < 1000; i++) {
        fa[i] = (float)i * 0.001f;
        fb[i] = 1.0f / (float)(i + 1);
    }
    for (int i = 0; i < 1000; i++) dot += fa[i] * fb[i];
    printf("float dot %.9g int %d %u %ld\n", (double)dot, (int)(dot * 1000.0f), (unsigned)(dot * 7.5f),
           lround(dot * 123.456));
    return 0;
}
