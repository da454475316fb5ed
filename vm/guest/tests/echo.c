/* Reads stdin to the end and writes it back upper-cased, then the byte count. glibc stdio. */
#include <ctype.h>
#include <stdio.h>

int main(void)
{
    char buf[256];
    size_t n, total = 0;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
        for (size_t i = 0; i < n; i++) buf[i] = (char)toupper((unsigned char)buf[i]);
        fwrite(buf, 1, n, stdout);
        total += n;
    }
    printf("[%zu bytes]\n", total);
    return 0;
}
