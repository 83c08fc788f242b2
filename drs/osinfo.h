/* osinfo.h - what the join says about this machine. */
#ifndef DRS_OSINFO_H
#define DRS_OSINFO_H

#include <stddef.h>

/* PRETTY_NAME of os-release (path NULL: /etc/os-release, then /usr/lib/os-release); "Linux" without one. */
int osinfo_version(const char *path, char *buf, size_t n);
/* The host name (short, as the hostname command shows it). */
int osinfo_hostname(char *buf, size_t n);

#endif
