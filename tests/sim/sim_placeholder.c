/* placeholder until the simulator lands */
int nr_sim_placeholder(void);
int nr_sim_placeholder(void)
{
	return 0;
}
