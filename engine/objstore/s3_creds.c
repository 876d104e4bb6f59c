/* s3_creds.c - S3 credentials, region and endpoint from settings, environment and files. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>

#include "engine/objstore/s3_creds.h"
#include "util/error.h"
#include "util/xmalloc.h"

struct ini_want {
	const char	*section;	/* the section to read */
	char		*access_key;
	char		*secret_key;
	char		*session_token;
	char		*region;
};

static int
creds_ini_line(void *user, const char *section, const char *name,
    const char *value)
{
	struct ini_want *w = user;
	char **slot = NULL;

	if (strcmp(section, w->section) != 0)
		return 1;
	if (strcmp(name, "aws_access_key_id") == 0)
		slot = &w->access_key;
	else if (strcmp(name, "aws_secret_access_key") == 0)
		slot = &w->secret_key;
	else if (strcmp(name, "aws_session_token") == 0)
		slot = &w->session_token;
	else if (strcmp(name, "region") == 0)
		slot = &w->region;
	if (slot != NULL) {
		free(*slot);
		*slot = xstrdup(value);
	}
	return 1;
}

static char *
home_file(const char *env, const char *rel)
{
	const char *v = getenv(env), *home = getenv("HOME");

	if (v != NULL && *v != '\0')
		return xstrdup(v);
	if (home == NULL || *home == '\0')
		return NULL;
	return xasprintf("%s/%s", home, rel);
}

static const char *
nonempty(const char *a)
{
	return a != NULL && *a != '\0' ? a : NULL;
}

static char *
first(const char *a, const char *b, const char *c)
{
	const char *v = nonempty(a) ? a : nonempty(b) ? b : nonempty(c);

	return v ? xstrdup(v) : NULL;
}

int
s3_settings_load(const struct objstore_opts *o, struct s3_settings *s)
{
	const char *profile = nonempty(o->profile) ? o->profile :
	    nonempty(getenv("AWS_PROFILE")) ? getenv("AWS_PROFILE") : "default";
	struct ini_want cred = { .section = profile }, conf = { .section = NULL };
	char *path, *section = NULL, *ep;
	size_t n;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	if ((path = home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials")) != NULL)
		ini_parse(path, creds_ini_line, &cred);	/* a missing file is fine */
	free(path);
	section = strcmp(profile, "default") == 0 ? xstrdup("default") :
	    xasprintf("profile %s", profile);
	conf.section = section;
	if ((path = home_file("AWS_CONFIG_FILE", ".aws/config")) != NULL)
		ini_parse(path, creds_ini_line, &conf);
	free(path);

	if (nonempty(o->access_key) || nonempty(o->secret_key)) {
		s->access_key = first(o->access_key, NULL, NULL);
		s->secret_key = first(o->secret_key, NULL, NULL);
		s->session_token = first(o->session_token, NULL, NULL);
	} else if (nonempty(getenv("AWS_ACCESS_KEY_ID"))) {
		s->access_key = first(getenv("AWS_ACCESS_KEY_ID"), NULL, NULL);
		s->secret_key = first(getenv("AWS_SECRET_ACCESS_KEY"), NULL, NULL);
		s->session_token = first(getenv("AWS_SESSION_TOKEN"), NULL, NULL);
	} else {
		s->access_key = first(cred.access_key, NULL, NULL);
		s->secret_key = first(cred.secret_key, NULL, NULL);
		s->session_token = first(cred.session_token, NULL, NULL);
	}
	if (s->access_key == NULL || s->secret_key == NULL) {
		rc = err_set(SHALE_EAUTH, "no S3 credentials: set AWS_ACCESS_KEY_ID "
		    "and AWS_SECRET_ACCESS_KEY, or profile '%s' in ~/.aws/credentials",
		    profile);
		goto out;
	}
	s->region = first(o->region, getenv("AWS_REGION"),
	    nonempty(getenv("AWS_DEFAULT_REGION")) ? getenv("AWS_DEFAULT_REGION") :
	    conf.region ? conf.region : cred.region);
	if (s->region == NULL)
		s->region = xstrdup("us-east-1");
	ep = first(o->endpoint, getenv("AWS_ENDPOINT_URL_S3"), getenv("AWS_ENDPOINT_URL"));
	if (ep != NULL) {
		s->custom_endpoint = 1;
		if (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0) {
			rc = err_set(SHALE_EURI, "endpoint '%s': expected http://HOST[:PORT] "
			    "or https://HOST[:PORT]", ep);
			free(ep);
			goto out;
		}
		n = strlen(ep);
		while (n > 0 && ep[n - 1] == '/')
			ep[--n] = '\0';
		if (strchr(strstr(ep, "://") + 3, '/') != NULL || n <= 8) {
			rc = err_set(SHALE_EURI, "endpoint '%s': expected no path", ep);
			free(ep);
			goto out;
		}
		s->endpoint = ep;
	} else {
		s->endpoint = xasprintf("https://s3.%s.amazonaws.com", s->region);
	}
out:
	free(cred.access_key);
	free(cred.secret_key);
	free(cred.session_token);
	free(cred.region);
	free(conf.access_key);
	free(conf.secret_key);
	free(conf.session_token);
	free(conf.region);
	free(section);
	if (rc != 0)
		s3_settings_release(s);
	return rc;
}

void
s3_settings_release(struct s3_settings *s)
{
	free(s->access_key);
	if (s->secret_key != NULL)
		explicit_bzero(s->secret_key, strlen(s->secret_key));
	free(s->secret_key);
	free(s->session_token);
	free(s->region);
	free(s->endpoint);
	memset(s, 0, sizeof(*s));
}
