/* cookie.h - "drsjoin cookie": the browser SSO cookie of a stored PRT. */
#ifndef DRS_COOKIE_H
#define DRS_COOKIE_H

int cmd_cookie(int argc, char **argv);

#endif
