/* Differential test: glibc static start-up and exit: argc/argv, the auxiliary vector, TLS,
 * constructors, atexit handlers, stdio buffering across exit, and the exit code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

static __thread int tls_counter = 41;
static int constructed;

__attribute__((constructor)) static void init(void) { constructed = 1; }

static void bye(void) { printf("atexit handler ran, tls=%d\n", tls_counter); }

int main(int argc, char **argv)
{
    atexit(bye);
    tls_counter++;
    printf("argc=%d constructed=%d\n", argc, constructed);
    for (int i = 1; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    printf("pagesz=%lu\n", getauxval(AT_PAGESZ));
    printf("getpid>0=%d\n", getpid() > 0);
    char *p = malloc(100);
    strcpy(p, "heap works");
    printf("%s\n", p);
    /* Unflushed stdout must still appear: exit() flushes. */
    printf("no newline before exit");
    exit(argc + 2);
}
