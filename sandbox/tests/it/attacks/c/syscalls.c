/* Kernel attack surface: every syscall the seccomp filter must stop, each tried in a child of
 * its own (SECCOMP_RET_KILL_PROCESS kills the whole process). Prints one line per attempt:
 *   <name> sig <signal>            the child was killed by a signal (31 = SIGSYS)
 *   <name> ret <value> <errno>     the call returned
 * Modes: `deny <nr>...`, `clone`, `abi`, `socket`, `fallback`, `bypass` (every way around
 * the x86-64 number checks, each in a child), `main <bypass>` (one of them in this process, for
 * the status the judge reports). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

/* Ways around a filter that compares x86-64 syscall numbers. Each returns only if the filter
 * let the call through (the kernel then fails it or, worse, does it). */

/* An i386 syscall through int $0x80: its own numbering (unshare is 310, mount 21). */
static long int80(long nr, long a, long b) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b) : "memory");
    return ret;
}
static long int80_unshare(long u) { (void)u; return int80(310, CLONE_NEWUSER, 0); }
static long int80_mount(long u) { (void)u; return int80(21, 0, 0); }
/* i386 socketcall(SYS_SOCKET, {AF_VSOCK, SOCK_STREAM, 0}): the socket guard tests x86-64's
 * `socket` only. */
static long int80_socketcall_vsock(long u) {
    (void)u;
    /* int $0x80 takes 32-bit pointers: the arguments go below 4 GiB. */
    unsigned int *args = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (args == MAP_FAILED) return -1;
    args[0] = 40;
    args[1] = SOCK_STREAM;
    args[2] = 0;
    return int80(102, 1, (long)(unsigned long)args);
}

/* x32 numbers are x86-64 numbers plus bit 30, under the same audit arch: an exact-number
 * deny-list does not see them. */
#define X32 0x40000000L
static long x32_unshare(long u) { (void)u; return syscall(X32 | SYS_unshare, CLONE_NEWUSER); }
static long x32_mount(long u) { (void)u; return syscall(X32 | SYS_mount, 0L, 0L, 0L, 0L, 0L); }
static long x32_ptrace(long u) { (void)u; return syscall(X32 | 521L, 16L, 1L, 0L, 0L); }
static long x32_socket_vsock(long u) {
    (void)u;
    return syscall(X32 | SYS_socket, 40L, (long)SOCK_STREAM, 0L);
}

/* Bits above 31 of the number: the kernel dispatches (int)rax, so must the filter. */
static long high_bits_unshare(long u) {
    (void)u;
    return syscall((1L << 32) | SYS_unshare, CLONE_NEWUSER);
}
/* -1 is "no syscall" (what a tracer writes to skip one); the filter kills every number from
 * bit 30 up. */
static long nr_minus_one(long u) { (void)u; return syscall(-1L); }

static long clone3_flags(unsigned long long flags) {
    struct { unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack,
             stack_size, tls; } args;
    memset(&args, 0, sizeof args);
    args.flags = flags;
    args.exit_signal = SIGCHLD;
    long ret = syscall(435, &args, sizeof args);
    if (ret == 0) _exit(0);
    return ret;
}
/* clone3's flags are in memory: the filter cannot see CLONE_NEWUSER, so clone3 must fail as a
 * whole (ENOSYS), whatever the flags. */
static long clone3_newuser(long u) { (void)u; return clone3_flags(CLONE_NEWUSER); }
static long x32_clone3_newuser(long u) {
    (void)u;
    struct { unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack,
             stack_size, tls; } args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_NEWUSER;
    args.exit_signal = SIGCHLD;
    long ret = syscall(X32 | 435L, &args, sizeof args);
    if (ret == 0) _exit(0);
    return ret;
}

/* Kernel surface no contest program needs, missing from the first deny-list:
 * modify_ldt (154, a source of kernel bugs; Docker denies it) reads the LDT with func 0, and
 * open_tree_attr (467, Linux 6.15: open_tree with mount attributes, the mount family). */
static long modify_ldt_read(long u) {
    (void)u;
    static char buf[16];
    return syscall(154L, 0L, buf, (long)sizeof buf);
}
static long open_tree_attr_clone(long u) {
    (void)u;
    /* AT_FDCWD, "/w", OPEN_TREE_CLONE | AT_RECURSIVE, no attributes. */
    return syscall(467L, -100L, "/w", 1L | 0x8000L, 0L, 0L);
}
static long io_uring_setup_call(long u) {
    (void)u;
    static char params[120];
    return syscall(425L, 8L, params);
}

static const struct { const char *name; attempt_fn fn; } bypasses[] = {
    {"int80_unshare", int80_unshare},
    {"int80_mount", int80_mount},
    {"int80_socketcall_vsock", int80_socketcall_vsock},
    {"x32_unshare", x32_unshare},
    {"x32_mount", x32_mount},
    {"x32_ptrace", x32_ptrace},
    {"x32_socket_vsock", x32_socket_vsock},
    {"x32_clone3_newuser", x32_clone3_newuser},
    {"high_bits_unshare", high_bits_unshare},
    {"nr_minus_one", nr_minus_one},
    {"clone3_newuser", clone3_newuser},
    {"modify_ldt", modify_ldt_read},
    {"open_tree_attr", open_tree_attr_clone},
    {"io_uring_setup", io_uring_setup_call},
};

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
    } else if (strcmp(argv[1], "bypass") == 0) {
        for (size_t i = 0; i < sizeof bypasses / sizeof bypasses[0]; i++)
            report(bypasses[i].name, bypasses[i].fn, 0);
    } else if (strcmp(argv[1], "main") == 0 && argc == 3) {
        for (size_t i = 0; i < sizeof bypasses / sizeof bypasses[0]; i++) {
            if (strcmp(argv[2], bypasses[i].name) != 0) continue;
            errno = 0;
            long ret = bypasses[i].fn(0);
            printf("%s ret %ld %d\n", argv[2], ret, errno);
            return 0;
        }
        return 2;
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
