/* placeholder until the Linux shim lands */
int nr_linux_placeholder(void);
int nr_linux_placeholder(void)
{
	return 0;
}
