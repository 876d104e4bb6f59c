/*
 * s3_creds.h - where S3 settings come from.
 *
 * Credentials, first found wins: the settings (objstore_opts), the
 * environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN),
 * then the profile (opts, $AWS_PROFILE, else "default") in the shared
 * credentials file ($AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials).
 * Region: the settings, $AWS_REGION, $AWS_DEFAULT_REGION, the profile's
 * region in ~/.aws/config ($AWS_CONFIG_FILE), else us-east-1. Endpoint: the
 * settings, $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, else AWS for the region.
 *
 * Reads files and the environment: call from one thread at a time.
 */
#ifndef SHALE_S3_CREDS_H
#define SHALE_S3_CREDS_H

#include "engine/objstore/objstore.h"

struct s3_settings {
	char	*access_key;
	char	*secret_key;
	char	*session_token;	/* NULL if none */
	char	*region;
	char	*endpoint;	/* scheme://host[:port], no trailing '/' */
	int	 custom_endpoint;
};

/* 0, or SHALE_EAUTH (no credentials) / SHALE_EURI (bad endpoint) with a detail. */
int	s3_settings_load(const struct objstore_opts *o, struct s3_settings *s);
void	s3_settings_release(struct s3_settings *s);

#endif
