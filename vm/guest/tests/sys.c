/* Exercises the Linux subset through glibc and checks every result itself: brk, mmap, munmap,
 * mprotect, clock_gettime, getrandom, uname, writev, fstat, isatty, prlimit, sysconf. Prints one
 * line per check and exits with the number of failures. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static int failures;
static void check(const char *what, int ok)
{
    printf("%s: %s\n", what, ok ? "ok" : "FAILED");
    if (!ok) failures++;
}

int main(void)
{
    void *b0 = sbrk(0);
    check("sbrk grows", sbrk(3 * 4096) == b0 && sbrk(0) == (char *)b0 + 3 * 4096);
    memset(b0, 1, 3 * 4096);
    check("sbrk shrinks", sbrk(-4096) != (void *)-1 && sbrk(0) == (char *)b0 + 2 * 4096);

    char *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("mmap", m != MAP_FAILED && ((unsigned long)m & 4095) == 0);
    check("mmap is zero", m[0] == 0 && m[(1 << 20) - 1] == 0);
    m[12345] = 7;
    check("mprotect read-only", mprotect(m, 4096, PROT_READ) == 0);
    check("mprotect exec refused", mprotect(m, 4096, PROT_READ | PROT_EXEC) != 0);
    check("munmap", munmap(m + 65536, 65536) == 0);
    char *fixed = mmap(m + 65536, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    check("mmap fixed", fixed == m + 65536 && fixed[0] == 0);
    check("mmap exec refused", mmap(NULL, 4096, PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED);
    check("mmap file refused", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 0, 0) == MAP_FAILED);

    struct timespec a, b;
    check("clock_gettime", clock_gettime(CLOCK_MONOTONIC, &a) == 0 && clock_gettime(CLOCK_MONOTONIC, &b) == 0 &&
                               (b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec)));
    unsigned char rnd[64] = {0};
    check("getrandom", getrandom(rnd, sizeof rnd, 0) == (ssize_t)sizeof rnd);
    struct utsname u;
    check("uname", uname(&u) == 0 && strcmp(u.sysname, "Linux") == 0 && strcmp(u.machine, "riscv64") == 0);
    struct stat st;
    check("fstat stdout", fstat(1, &st) == 0 && S_ISCHR(st.st_mode));
    check("isatty is false", isatty(1) == 0);
    struct rlimit rl;
    check("getrlimit stack", getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur > 0);
    check("sysconf pagesize", sysconf(_SC_PAGESIZE) == 4096);
    check("getpid", getpid() == 1);
    errno = 0;
    check("open fails", fopen("/etc/passwd", "r") == NULL && errno == ENOENT);
    char *big = malloc(4 << 20);
    check("large malloc (mmap)", big != NULL);
    memset(big, 3, 4 << 20);
    free(big);
    fflush(stdout);
    struct iovec iov[2] = {{"writev ", 7}, {"works\n", 6}};
    check("writev", writev(1, iov, 2) == 13);
    return failures;
}
