/* test_hooks.c - the hooks of plat_weak.c when the real shim is linked:
 * the entropy-failure test sees no stub calls and skips itself. */
int nr_test_entropy_calls;
int nr_test_entropy_fail;
