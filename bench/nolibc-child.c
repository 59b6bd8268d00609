/*
 * nolibc-child.c -- the cheapest possible child for spawn benchmarks: a
 * static executable without libc whose entry point makes the exit(0)
 * system call.  What remains of a spawn+wait is then the spawner's own
 * cost plus execve and process teardown in the kernel.
 *
 * Built by bench/local.mk with -nostdlib -static (no dynamic loader, no
 * libc start-up).  x86_64 and aarch64.
 */
#if defined(__x86_64__)
__asm__(".text\n"
        ".globl _start\n"
        ".type _start, @function\n"
        "_start:\n"
        "\tmovl $60, %eax\n"   /* SYS_exit */
        "\txorl %edi, %edi\n"  /* status 0 */
        "\tsyscall\n"
        "\thlt\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".globl _start\n"
        ".type _start, %function\n"
        "_start:\n"
        "\tmov x8, #93\n" /* SYS_exit */
        "\tmov x0, #0\n"
        "\tsvc #0\n");
#else
#error "nolibc-child: only x86_64 and aarch64 are supported"
#endif
