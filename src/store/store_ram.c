/* placeholder until the RAM backend lands */
int nr_store_ram_placeholder(void);
int nr_store_ram_placeholder(void) { return 0; }
