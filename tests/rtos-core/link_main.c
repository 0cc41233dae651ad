/*
 * link_main.c - the program that links all of nrcore (--whole-archive)
 * with stub_platform.c; see sources.cmake. It runs nothing.
 */
int main(void)
{
	return 0;
}
