/* Filesystem attacks from inside. Modes:
 *   traps      leave traps for the host's next copy-in/copy-out: symlinks to magic links and to
 *              read-only places, a fifo, a unix socket, hard links to files outside /w
 *   swap       a daemon swaps /w/out between a regular file and a symlink to a host file, then
 *              main exits (the daemon must die with it)
 *   init       what the program can learn about or do to the init (pid 1) and its own fd table
 *   plant      secrets everywhere a later run might look: files, dot files, deep trees, a
 *              mode-000 dir, >256 entries, a socket, a fifo, xattrs on files and on the tmpfs
 *              roots themselves, a daemon holding a file open
 *   xattrs     many long user.* names on /w, more than the reset removes one by one
 *   find       everything a run can see in /w and /tmp (except its own binary and the
 *              harness's stdout/stderr files), and the xattrs of the roots
 *   fdcount    exits with the number of open fds (for runs given no fd at all)
 * Output: `<what> <ret> <errno>` or `found <path>`. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

static void out(const char *what, long ret) { printf("%s %ld %d\n", what, ret, ret < 0 ? errno : 0); }

static void traps(void) {
    out("symlink_up", symlink("/proc/1/root", "/w/up"));
    out("symlink_self", symlink("/proc/self/root", "/w/self"));
    out("symlink_fd", symlink("/proc/1/fd", "/w/fd"));
    out("symlink_cwd", symlink("/proc/1/cwd", "/w/cwd"));
    out("symlink_etc", symlink("/etc", "/w/etc"));
    out("symlink_out", symlink("/etc/ld.so.cache", "/w/cache"));
    out("mkfifo", mkfifo("/w/fifo", 0666));
    out("hardlink_ro", link("/etc/ld.so.cache", "/w/hard"));
    int fd = open("/tmp/t", O_CREAT | O_WRONLY, 0666);
    close(fd);
    out("hardlink_tmp", link("/tmp/t", "/w/hard2"));
    out("mknod", mknod("/w/dev", S_IFCHR | 0666, makedev(1, 3)));
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    strcpy(un.sun_path, "/w/sock");
    out("bind_sock", bind(s, (struct sockaddr *)&un, sizeof un));
}

static void swap(void) {
    int fd = open("/w/out", O_CREAT | O_WRONLY | O_TRUNC, 0666);
    if (write(fd, "regular", 7) != 7) return;
    close(fd);
    symlink("/etc/ld.so.cache", "/w/out.link");
    if (fork() == 0) {
        setsid();
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        for (;;) {
            /* out ⇄ symlink, each rename atomic. */
            rename("/w/out", "/w/out.reg");
            rename("/w/out.link", "/w/out");
            rename("/w/out", "/w/out.link");
            rename("/w/out.reg", "/w/out");
        }
    }
    usleep(20000);
    out("swapper_started", 0);
}

static void init_probe(void) {
    const char *paths[] = {"/proc/1/environ", "/proc/1/mem", "/proc/1/fd/0", "/proc/1/root/w",
                           "/proc/1/cwd", "/proc/1/exe", "/proc/1/fdinfo/0", "/proc/1/maps"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        int fd = open(paths[i], O_RDONLY);
        out(paths[i], fd);
        if (fd >= 0) close(fd);
    }
    DIR *d = opendir("/proc/1/fd");
    out("opendir_/proc/1/fd", d ? 0 : -1);
    out("kill_1", kill(1, SIGKILL));
    out("kill_1_term", kill(1, SIGTERM));
    /* Our own fd table: exactly what the request gave. */
    printf("fds");
    for (int fd = 0; fd < 65536; fd++)
        if (fcntl(fd, F_GETFD) >= 0) printf(" %d", fd);
    printf("\n");
}

static void plant(void) {
    const char *files[] = {"/w/secret", "/w/.hidden", "/tmp/secret", "/tmp/.hidden"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        int fd = open(files[i], O_CREAT | O_WRONLY, 0600);
        if (write(fd, "SECRET", 6) != 6) out("write", -1);
        fsetxattr(fd, "user.secret", "SECRET", 6, 0);
        close(fd);
    }
    mkdir("/w/a", 0777);
    mkdir("/w/a/b", 0777);
    mkdir("/w/a/b/c", 0777);
    int fd = open("/w/a/b/c/deep", O_CREAT | O_WRONLY, 0600);
    close(fd);
    mkdir("/w/locked", 0777);
    fd = open("/w/locked/inside", O_CREAT | O_WRONLY, 0600);
    close(fd);
    chmod("/w/locked", 0);
    char path[64];
    for (int i = 0; i < 300; i++) {
        snprintf(path, sizeof path, "/tmp/many%d", i);
        fd = open(path, O_CREAT | O_WRONLY, 0600);
        close(fd);
    }
    mkfifo("/w/fifo", 0600);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    strcpy(un.sun_path, "/w/sock");
    bind(s, (struct sockaddr *)&un, sizeof un);
    listen(s, 1);
    out("xattr_w", setxattr("/w", "user.secret", "SECRET", 6, 0));
    out("xattr_tmp", setxattr("/tmp", "user.secret", "SECRET", 6, 0));
    if (fork() == 0) {
        setsid();
        int keep = open("/w/held", O_CREAT | O_RDWR, 0600);
        if (write(keep, "SECRET", 6) != 6) _exit(1);
        unlink("/w/held"); /* open but nameless */
        pause();
    }
    usleep(20000);
    out("planted", 0);
}

static void xattrs(void) {
    char name[64];
    int ok = 0;
    for (int i = 0; i < 32; i++) {
        snprintf(name, sizeof name, "user.a-long-attribute-name-to-fill-the-list-%02d", i);
        ok += setxattr("/w", name, "SECRET", 6, 0) == 0;
    }
    printf("xattrs_set %d\n", ok);
}

static const char *self_name;

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st;
    (void)type;
    if (ftw->level == 0) return 0;
    const char *base = path + ftw->base;
    if (ftw->level == 1 && strncmp(path, "/w/", 3) == 0 && strcmp(base, self_name) == 0) return 0;
    if (strcmp(path, "/tmp/.stdout") == 0 || strcmp(path, "/tmp/.stderr") == 0) return 0;
    printf("found %s\n", path);
    return 0;
}

static void find(const char *argv0) {
    self_name = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
    nftw("/w", visit, 16, FTW_PHYS);
    nftw("/tmp", visit, 16, FTW_PHYS);
    const char *roots[] = {"/w", "/tmp"};
    for (int i = 0; i < 2; i++) {
        static char names[65536];
        ssize_t n = listxattr(roots[i], names, sizeof names);
        for (ssize_t off = 0; off < n; off += (ssize_t)strlen(names + off) + 1)
            printf("found xattr %s %s\n", roots[i], names + off);
    }
    printf("done\n");
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(argv[1], "traps") == 0) traps();
    else if (strcmp(argv[1], "swap") == 0) swap();
    else if (strcmp(argv[1], "init") == 0) init_probe();
    else if (strcmp(argv[1], "plant") == 0) plant();
    else if (strcmp(argv[1], "xattrs") == 0) xattrs();
    else if (strcmp(argv[1], "find") == 0) find(argv[0]);
    else if (strcmp(argv[1], "fdcount") == 0) {
        int n = 0;
        for (int fd = 0; fd < 65536; fd++) n += fcntl(fd, F_GETFD) >= 0;
        return n;
    }
    else return 2;
    return 0;
}
