/* cloud.c - the clouds' registration and login hosts (see cloud.h). */
#include <string.h>

#include "cloud.h"

static const struct cloud clouds[] = {
	{ "public", "enterpriseregistration.windows.net",
	    "login.microsoftonline.com" },
	{ "usgov", "enterpriseregistration.microsoftonline.us",
	    "login.microsoftonline.us" },
	{ "china", "enterpriseregistration.partner.microsoftonline.cn",
	    "login.partner.microsoftonline.cn" },
};

const struct cloud *
cloud_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(clouds) / sizeof(clouds[0]); i++)
		if (strcmp(name, clouds[i].name) == 0)
			return &clouds[i];
	return NULL;
}

const struct cloud *
cloud_default(void)
{
	return &clouds[0];
}

const char *
cloud_names(void)
{
	return "public|usgov|china";
}
