/* Kernel attack surface: every syscall the seccomp filter must stop, each tried in a child of
 * its own (SECCOMP_RET_KILL_PROCESS kills the whole process). Prints one line per attempt:
 *   <name> sig <signal>            the child was killed by a signal (31 = SIGSYS)
 *   <name> ret <value> <errno>     the call returned
 * Modes: `deny <nr>...`, `clone`, `abi`, `socket`, `fallback`. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

typedef long (*attempt_fn)(long arg);

static void report(const char *name, attempt_fn fn, long arg) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        errno = 0;
        long ret = fn(arg);
        printf("%s ret %ld %d\n", name, ret, errno);
        fflush(stdout);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) printf("%s sig %d\n", name, WTERMSIG(status));
}

/* Arguments that make every denied call fail fast if it were allowed (bad pointers, fds). */
static long raw(long nr) { return syscall(nr, -1L, 0L, 0L, -1L, 0L, 0L); }

static long clone_flag(long flag) {
    /* SIGCHLD as exit signal plus one namespace flag. A stack of 0 means "copy of ours" as
     * with fork; the child (if any) exits at once. */
    long ret = syscall(SYS_clone, flag | SIGCHLD, 0L, 0L, 0L, 0L);
    if (ret == 0) _exit(0);
    return ret;
}

static long clone3_plain(long unused) {
    (void)unused;
    struct { unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack,
             stack_size, tls; } args;
    memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    long ret = syscall(435, &args, sizeof args);
    if (ret == 0) _exit(0);
    return ret;
}

static long int80_getpid(long unused) {
    (void)unused;
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory"); /* i386 getpid */
    return ret;
}

static long x32_getpid(long unused) {
    (void)unused;
    return syscall(0x40000000L | SYS_getpid);
}

static long socket_family(long family) {
    /* The raw syscall: a filter that compared all 64 bits would miss 0x1_0000_0028, which the
     * kernel truncates to the int 40 (AF_VSOCK). */
    long ret = syscall(SYS_socket, family, (long)SOCK_STREAM, 0L);
    if (ret < 0 && errno != EAFNOSUPPORT) {
        /* Some families have no stream type: try datagrams before concluding. */
        ret = syscall(SYS_socket, family, (long)SOCK_DGRAM, 0L);
    }
    return ret;
}

static void *thread_main(void *arg) { return arg; }

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(argv[1], "deny") == 0) {
        for (int i = 2; i < argc; i++) report(argv[i], raw, strtol(argv[i], NULL, 10));
    } else if (strcmp(argv[1], "clone") == 0) {
        const struct { const char *name; long flag; } flags[] = {
            {"CLONE_NEWNS", CLONE_NEWNS},         {"CLONE_NEWUTS", CLONE_NEWUTS},
            {"CLONE_NEWIPC", CLONE_NEWIPC},       {"CLONE_NEWUSER", CLONE_NEWUSER},
            {"CLONE_NEWPID", CLONE_NEWPID},       {"CLONE_NEWNET", CLONE_NEWNET},
            {"CLONE_NEWCGROUP", CLONE_NEWCGROUP},
            /* Garbage in the upper half must not hide the flag from the filter. */
            {"CLONE_NEWUSER_HIGH_BITS", CLONE_NEWUSER | (1L << 40)},
        };
        for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
            report(flags[i].name, clone_flag, flags[i].flag);
        report("clone3", clone3_plain, 0);
    } else if (strcmp(argv[1], "abi") == 0) {
        report("int80", int80_getpid, 0);
        report("x32", x32_getpid, 0);
    } else if (strcmp(argv[1], "socket") == 0) {
        for (int i = 2; i < argc; i++) report(argv[i], socket_family, strtol(argv[i], NULL, 0));
    } else if (strcmp(argv[1], "fallback") == 0) {
        /* glibc tries clone3 for threads and posix_spawn, then falls back to clone. */
        pthread_t t;
        int rc = pthread_create(&t, NULL, thread_main, NULL);
        if (rc == 0) rc = pthread_join(t, NULL);
        printf("pthread %d\n", rc);
        pid_t pid;
        char *args[] = {"/bin/true", NULL};
        rc = posix_spawn(&pid, "/bin/true", NULL, NULL, args, environ);
        int status = -1;
        if (rc == 0) waitpid(pid, &status, 0);
        printf("posix_spawn %d %d\n", rc, status);
        pid = fork();
        if (pid == 0) _exit(7);
        waitpid(pid, &status, 0);
        printf("fork %d\n", WEXITSTATUS(status));
    } else {
        return 2;
    }
    return 0;
}
