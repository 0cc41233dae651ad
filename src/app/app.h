/*
 * app.h - the nanorelay program: command line, configuration, daemon.
 * The platform's main() calls nr_app_main(); it returns a sysexits code.
 */
#ifndef NR_APP_APP_H
#define NR_APP_APP_H

int nr_app_main(int argc, char **argv);

#endif /* NR_APP_APP_H */
