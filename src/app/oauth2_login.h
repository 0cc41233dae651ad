/*
 * oauth2_login.h - `nanorelay oauth2 login SMARTHOST` (oauth2_login.c).
 */
#ifndef NR_APP_OAUTH2_LOGIN_H
#define NR_APP_OAUTH2_LOGIN_H

struct nr_conf;

/* The text of `nanorelay oauth2 --help`. */
extern const char nr_oauth2_help[];

/* argv: "oauth2" "login" SMARTHOST[:PORT]. A sysexits code; blocks (a
 * front-end command, never run inside the daemon). */
int nr_oauth2_login_main(const struct nr_conf *conf, int argc, char **argv);

#endif /* NR_APP_OAUTH2_LOGIN_H */
