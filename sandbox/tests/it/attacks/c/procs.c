/* Process and resource attacks. Modes:
 *   daemons     processes that try to outlive the run: a setsid double-fork daemon ignoring
 *               every signal, a stopped child, a vfork parent whose child stopped, orphans of a
 *               child subreaper, a CLONE_PARENT sibling (child of the init itself)
 *   threads     pthreads until creation fails
 *   fds         fds, inotify and epoll instances until creation fails
 *   sparse      a 1 TiB sparse file and a 1 TiB memfd
 *   fill <MiB>  writes MiB into /w/fill (tmpfs pages are memory)
 *   spin-daemon a setsid child burns CPU while main only sleeps
 *   kernel-spin burns CPU in the kernel (syscalls) only
 *   vfork-stop  main vforks, the child stops itself: main hangs in vfork
 *   ipc-plant   SysV shm, message queue and semaphore set with keys
 *   ipc-find    counts SysV objects visible
 *   unix-plant  a listening abstract unix socket kept alive only by a cycle of fds in flight
 *               (SCM_RIGHTS): no process holds it when the run ends
 *   unix-find   connects to that name, counts the sockets of the net namespace
 *   hold-out    writes a line, then puts its stdout and stderr in flight in such a cycle and
 *               exits: no process holds the collectors' pipes, yet they are not closed
 * Output: `<what> <ret> <errno>`. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void out(const char *what, long ret) { printf("%s %ld %d\n", what, ret, ret < 0 ? errno : 0); }

static void ignore_all_signals(void) {
    for (int s = 1; s < 65; s++) signal(s, SIG_IGN);
}

static void daemons(void) {
    /* setsid double fork, every signal ignored. */
    if (fork() == 0) {
        setsid();
        if (fork() == 0) {
            ignore_all_signals();
            for (;;) pause();
        }
        _exit(0);
    }
    /* A stopped child. */
    pid_t stopped = fork();
    if (stopped == 0) {
        raise(SIGSTOP);
        for (;;) pause();
    }
    /* A child that vforks a grandchild which stops: the child hangs in vfork. */
    if (fork() == 0) {
        if (vfork() == 0) {
            raise(SIGSTOP);
            _exit(0);
        }
        for (;;) pause();
    }
    /* A child subreaper whose orphaned grandchild it adopts. */
    if (fork() == 0) {
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        if (fork() == 0) {
            if (fork() == 0) {
                ignore_all_signals();
                for (;;) pause();
            }
            _exit(0);
        }
        for (;;) pause();
    }
    /* A sibling: CLONE_PARENT makes it a child of our parent, the init. */
    long sib = syscall(SYS_clone, CLONE_PARENT, 0L, 0L, 0L, 0L);
    if (sib == 0) {
        ignore_all_signals();
        for (;;) pause();
    }
    out("clone_parent", sib);
    usleep(50000);
    out("spawned", 0);
}

static void *idle_thread(void *arg) {
    pause();
    return arg;
}

static void threads(void) {
    long n = 0;
    for (; n < 100000; n++) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setstacksize(&a, 65536);
        int rc = pthread_create(&t, &a, idle_thread, NULL);
        if (rc != 0) {
            errno = rc;
            break;
        }
    }
    printf("threads %ld %d\n", n, errno);
}

static void fds(void) {
    long n = 0;
    while (open("/dev/null", O_RDONLY) >= 0) n++;
    printf("open %ld %d\n", n, errno);
    struct rlimit r = {65536, 65536};
    out("raise_nofile", setrlimit(RLIMIT_NOFILE, &r));
    /* Close them again so instance limits are what stops the next loops. */
    for (int fd = 3; fd < 1024; fd++) close(fd);
    n = 0;
    while (inotify_init1(0) >= 0) n++;
    printf("inotify %ld %d\n", n, errno);
    for (int fd = 3; fd < 1024; fd++) close(fd);
    n = 0;
    while (epoll_create1(0) >= 0) n++;
    printf("epoll %ld %d\n", n, errno);
}

static void sparse(void) {
    signal(SIGXFSZ, SIG_IGN);
    int fd = open("/w/sparse", O_CREAT | O_RDWR, 0600);
    out("ftruncate_1t", ftruncate(fd, 1L << 40));
    int m = memfd_create("x", 0);
    out("memfd_1t", ftruncate(m, 1L << 40));
    out("pwrite_far", pwrite(fd, "x", 1, 1L << 39));
}

static void fill(long mib) {
    int fd = open("/w/fill", O_CREAT | O_WRONLY, 0600);
    static char buf[1 << 20];
    memset(buf, 'x', sizeof buf);
    long done = 0;
    for (; done < mib; done++)
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) break;
    printf("filled %ld %d\n", done, errno);
}

static void spin_daemon(void) {
    if (fork() == 0) {
        setsid();
        for (volatile unsigned long i = 0;; i++) {
        }
    }
    for (;;) pause();
}

static void kernel_spin(void) {
    for (;;) syscall(SYS_getppid);
}

static void vfork_stop(void) {
    if (vfork() == 0) {
        raise(SIGSTOP);
        _exit(0);
    }
    out("vfork_returned", 0);
}

static void ipc_plant(void) {
    out("shmget", shmget(0x5ec2e7, 4096, IPC_CREAT | 0666));
    out("msgget", msgget(0x5ec2e7, IPC_CREAT | 0666));
    out("semget", semget(0x5ec2e7, 1, IPC_CREAT | 0666));
}

static long lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n - 1; /* header */
}

static void ipc_find(void) {
    printf("shm %ld\n", lines("/proc/sysvipc/shm"));
    printf("msg %ld\n", lines("/proc/sysvipc/msg"));
    printf("sem %ld\n", lines("/proc/sysvipc/sem"));
    out("shmget_existing", shmget(0x5ec2e7, 0, 0));
    out("msgget_existing", msgget(0x5ec2e7, 0));
    out("semget_existing", semget(0x5ec2e7, 0, 0));
}

static const char UNIX_NAME[] = "shardbox-leftover";

static int unix_connect(void) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path + 1, UNIX_NAME, sizeof UNIX_NAME - 1); /* abstract: leading NUL */
    int r = connect(s, (struct sockaddr *)&a, sizeof(sa_family_t) + sizeof UNIX_NAME);
    close(s);
    return r;
}

static long send_fd(int via, int fd) {
    char c = 'x';
    struct iovec io = {&c, 1};
    char buf[CMSG_SPACE(sizeof(int))];
    struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = buf,
                       .msg_controllen = sizeof buf};
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &fd, sizeof fd);
    return sendmsg(via, &m, 0);
}

static void unix_plant(void) {
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path + 1, UNIX_NAME, sizeof UNIX_NAME - 1);
    out("bind", bind(l, (struct sockaddr *)&a, sizeof(sa_family_t) + sizeof UNIX_NAME));
    out("listen", listen(l, 8));
    int sv[2];
    out("socketpair", socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    /* The listener and each end of the pair ride in the other end's queue. */
    out("send_listener", send_fd(sv[0], l));
    /* More fds in flight (the collector then left the cycle alone for seconds on a quiet host
     * unless something released a unix socket). */
    for (int i = 0; i < 50; i++) {
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        send_fd(sv[0], u);
        close(u);
    }
    out("send_a", send_fd(sv[0], sv[1]));
    out("send_b", send_fd(sv[1], sv[0]));
    close(l);
    close(sv[0]);
    close(sv[1]);
    out("connect_after_close", unix_connect());
}

static void hold_out(void) {
    out("hello", 0);
    fflush(stdout);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0) return;
    for (int i = 0; i < 50; i++) {
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        send_fd(sv[0], u);
        close(u);
    }
    send_fd(sv[0], 1);
    send_fd(sv[0], 2);
    send_fd(sv[0], sv[1]);
    send_fd(sv[1], sv[0]);
}

static void unix_find(void) {
    out("connect", unix_connect());
    printf("sockets %ld\n", lines("/proc/net/unix"));
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *m = argv[1];
    if (strcmp(m, "daemons") == 0) daemons();
    else if (strcmp(m, "threads") == 0) threads();
    else if (strcmp(m, "fds") == 0) fds();
    else if (strcmp(m, "sparse") == 0) sparse();
    else if (strcmp(m, "fill") == 0 && argc > 2) fill(strtol(argv[2], NULL, 10));
    else if (strcmp(m, "spin-daemon") == 0) spin_daemon();
    else if (strcmp(m, "kernel-spin") == 0) kernel_spin();
    else if (strcmp(m, "vfork-stop") == 0) vfork_stop();
    else if (strcmp(m, "ipc-plant") == 0) ipc_plant();
    else if (strcmp(m, "ipc-find") == 0) ipc_find();
    else if (strcmp(m, "unix-plant") == 0) unix_plant();
    else if (strcmp(m, "unix-find") == 0) unix_find();
    else if (strcmp(m, "hold-out") == 0) hold_out();
    else return 2;
    return 0;
}
