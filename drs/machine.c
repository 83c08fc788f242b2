/* machine.c - which machine this is: hashed machine-id and DMI UUID (machine.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "log.h"
#include "machine.h"
#include "util.h"

/* Bumped if the hash ever changes: records then compare nothing, not wrongly. */
#define LABEL "drsjoin machine identity v1"
#define FACT_MAX 64

#ifdef DRSJOIN_TEST_HOOKS
/* Test builds only: the tests play other machines with files of their own. */
static const char *
test_path(const char *var, const char *dflt)
{
	const char *p = getenv(var);

	return p != NULL && *p != '\0' ? p : dflt;
}
#else
#define test_path(var, dflt) (dflt)
#endif

const char *
machine_id_path(void)
{
	return test_path("DRSJOIN_TEST_MACHINE_ID", MACHINE_ID_PATH);
}

const char *
machine_dmi_path(void)
{
	return test_path("DRSJOIN_TEST_PRODUCT_UUID", MACHINE_DMI_PATH);
}

/*
 * The first line of a small system file, lower case, in buf; 0 when it
 * cannot be read (why at -v: not root for the UUID, no such file).
 */
static int
read_fact(const char *path, char *buf, size_t n)
{
	ssize_t len;
	int fd;

	buf[0] = '\0';
	/* Links are followed: /sys/class/dmi/id is one, machine-id may be. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0) {
		log_debug(2, "machine: %s: %s", path, strerror(errno));
		return 0;
	}
	len = read(fd, buf, n - 1);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	for (char *c = buf; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	return buf[0] != '\0';
}

/* 32 hex digits, as systemd writes it; "uninitialized" and the like are no id. */
static int
machine_id_ok(const char *s)
{
	return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32 &&
	    strspn(s, "0") != 32;
}

/*
 * A GUID that names one machine: firmware without one gives all zeros,
 * all ones, or this placeholder on many boards alike.
 */
static int
product_uuid_ok(const char *s)
{
	if (!util_is_guid(s, strlen(s)))
		return 0;
	if (strspn(s, "0-") == 36 || strspn(s, "f-") == 36)
		return 0;
	return strcmp(s, "03000200-0400-0500-0006-000700080009") != 0;
}

/* The stored form of one fact: 128 bits of SHA-256(label, name, value). */
static int
fact_hash(const char *name, const char *value, char out[33])
{
	uint8_t md[CRYPTO_SHA256_LEN];
	char *msg;
	int rc, i;

	if ((msg = util_asprintf("%s\n%s\n%s", LABEL, name, value)) == NULL)
		return -1;
	rc = crypto_sha256(msg, strlen(msg), md);
	util_wipe(msg, strlen(msg));
	free(msg);
	if (rc < 0)
		return -1;
	for (i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* One member of the identity: set when the fact reads and is usable. */
static int
add_fact(struct json *o, const char *name, const char *path, int (*ok)(const char *))
{
	char buf[FACT_MAX], hex[33];
	int rc = 0;

	if (read_fact(path, buf, sizeof(buf)) && ok(buf)) {
		rc = fact_hash(name, buf, hex) < 0 ||
		    json_set_string(o, name, hex) < 0 ? -1 : 0;
	} else if (buf[0] != '\0') {
		log_debug(1, "machine: %s does not name one machine: not recorded",
		    path);
	}
	util_wipe(buf, sizeof(buf));
	return rc;
}

struct json *
machine_identity(void)
{
	struct json *o;

	if ((o = json_new_object()) == NULL)
		return NULL;
	if (add_fact(o, "machine_id", machine_id_path(), machine_id_ok) < 0 ||
	    add_fact(o, "product_uuid", machine_dmi_path(), product_uuid_ok) < 0) {
		json_free(o);
		return NULL;
	}
	return o;
}

int
machine_differs(const struct json *rec, char *why, size_t n)
{
	static const char *const names[] = { "machine_id", "product_uuid" };
	static const char *const shown[] = { "/etc/machine-id", "DMI product UUID" };
	struct json *now;
	const char *a, *b, *which[2];
	size_t i, k = 0;

	if (why != NULL && n > 0)
		why[0] = '\0';
	if (rec == NULL || !json_is_object(rec))
		return 0;
	if ((now = machine_identity()) == NULL)
		return -1;
	for (i = 0; i < 2; i++) {
		a = json_get_string(rec, names[i]);
		b = json_get_string(now, names[i]);
		if (a != NULL && b != NULL && strcmp(a, b) != 0)
			which[k++] = shown[i];
	}
	json_free(now);
	if (k > 0 && why != NULL)
		snprintf(why, n, "%s%s%s %s not this machine's", which[0],
		    k > 1 ? " and " : "", k > 1 ? which[1] : "", k > 1 ? "are" : "is");
	return k > 0;
}
