/*
 * scrape_int.h - what the scraper's files share: the checked config
 * (scrape_config.c), target groups and their labels before and after
 * relabelling (scrape_sd.c), and the scraper itself (scrape.c).
 */
#ifndef SHALE_SCRAPE_INT_H
#define SHALE_SCRAPE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "model/labels.h"
#include "scrape/relabel.h"
#include "scrape/scrape.h"

#define SCRAPE_DEFAULT_INTERVAL_MS	60000	/* global scrape_interval */
#define SCRAPE_DEFAULT_TIMEOUT_MS	10000	/* global scrape_timeout */
#define SCRAPE_DEFAULT_REFRESH_MS	300000	/* file_sd refresh_interval */
#define SCRAPE_INTERVAL_MAX_MS	((int64_t)30 * 24 * 3600 * 1000)	/* a scrape_interval */
#define SCRAPE_FILE_MAX		(4 * 1024 * 1024)	/* bytes of a config or SD file */
#define SCRAPE_DEPTH_MAX	16	/* nested YAML collections */

/* A target group: addresses and the labels they share. */
struct scrape_group {
	char			**targets;
	size_t			  ntargets;
	struct relabel_labels	  labels;
	char			 *source;	/* the file it came from, or NULL */
};

struct scrape_file_sd {
	char			**files;	/* patterns (glob(3)) */
	size_t			  nfiles;
	int64_t			  refresh_ms;
};

/* A query parameter: params may give a name more than one value. */
struct scrape_param {
	char			*name;
	char			*value;
};

struct scrape_job {
	char			*name;
	size_t			 line;
	int64_t			 interval_ms;
	int64_t			 timeout_ms;
	char			*metrics_path;
	char			*scheme;	/* "http" or "https" */
	struct scrape_param	*params;
	size_t			 nparams;
	int			 honor_labels;
	int			 honor_timestamps;
	/* basic_auth, or a bearer token, or neither */
	char			*username;
	char			*password;
	char			*password_file;
	char			*bearer_token;
	char			*bearer_token_file;
	/* tls_config */
	char			*ca_file;
	char			*cert_file;
	char			*key_file;
	int			 insecure_skip_verify;
	struct scrape_group	*groups;	/* static_configs */
	size_t			 ngroups;
	struct scrape_file_sd	*file_sd;
	size_t			 nfile_sd;
	struct relabel		**relabel;
	size_t			 nrelabel;
	struct relabel		**metric_relabel;
	size_t			 nmetric_relabel;
	int			 quiet;		/* the self-scrape: failures at info */
};

struct scrape_config {
	char			*name;		/* the file, for messages */
	int64_t			 interval_ms;
	int64_t			 timeout_ms;
	struct relabel_labels	 external_labels;	/* kept, not applied */
	struct scrape_job	*jobs;
	size_t			 njobs;
};

/*
 * Prometheus durations: "1h30m", "15s", "500ms", "0" (units y w d h m s
 * ms, largest first, each at most once). 0 and *ms, or -EINVAL.
 */
int	scrape_parse_duration(const char *s, size_t n, int64_t *ms);
/* The form Prometheus writes ("1m30s", "0s") into out (32 bytes). */
void	scrape_format_duration(int64_t ms, char *out, size_t size);

void	scrape_group_release(struct scrape_group *g);

/*
 * Read the groups of one file_sd file (JSON for *.json, YAML for *.yml
 * and *.yaml): 0 and *out (n of them; the caller releases each and
 * frees the array), or -errno / -EINVAL with err_set().
 */
int	scrape_sd_read_file(const char *path, struct scrape_group **out,
	    size_t *n);

/* Load one YAML document (scrape_config.c): 0, or -EINVAL / -ENOMEM. */
struct yaml_document_s;
int	scrape_yaml_load(const char *in, size_t n, const char *name,
	    struct yaml_document_s *doc);
/* The target groups of a file_sd YAML file (scrape_config.c). */
int	scrape_sd_parse_yaml(const char *data, size_t n, const char *name,
	    struct scrape_group **out, size_t *nout);
/* A whole regular file of at most max bytes: 0 and *data (the caller's). */
int	scrape_read_file(const char *path, size_t max, char **data,
	    size_t *len);

/* A target after relabelling. */
struct scrape_target_def {
	struct labels		*full;		/* with its "__" labels: its identity */
	struct labels		*labels;	/* without: put on its samples */
	char			*url;
	int64_t			 interval_ms;
	int64_t			 timeout_ms;
};

void	scrape_target_def_release(struct scrape_target_def *t);

/*
 * The target for address `addr` of group g in job j, as Prometheus 2.42
 * makes it: job, __scheme__, __metrics_path__, __scrape_interval__,
 * __scrape_timeout__ and __param_* set when the group has none, the
 * relabel_configs run, a default port added to __address__, __meta_*
 * dropped, instance set to the address when not set. 1 and *t, 0 when
 * relabelling dropped the target, or -EINVAL with err_set() (no
 * address, a bad interval ...).
 */
int	scrape_target_make(const struct scrape_job *j, const char *addr,
	    const struct scrape_group *g, struct scrape_target_def *t);

#endif
