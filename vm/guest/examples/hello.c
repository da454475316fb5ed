/* The smallest tenant: write a line, exit 0. Uses only Linux write/exit, so it also runs on
 * qemu-riscv64, which the differential test checks. */
#define SHARDBOX_IMPLEMENTATION
#include "shardbox.h"

int main(void)
{
    static const char msg[] = "hello from a shardbox guest\n";
    sb_write(1, msg, sizeof msg - 1);
    return 0;
}
