/* cmd_version.c - 'shale version': the version and what it was built with. */
#include "config.h"

#include <curl/curl.h>
#include <libxml/xmlversion.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "tools/cmd.h"

int
cmd_version(int argc, char **argv)
{
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "-v") != 0))
		return cmd_usage("version", "unexpected argument '%s'", argv[1]);
	printf("shale %s\n", PACKAGE_VERSION);
	if (argc == 2) {
		printf("libcurl %s\n", curl_version_info(CURLVERSION_NOW)->version);
		printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
		printf("libxml2 %s\n", LIBXML_DOTTED_VERSION);
	}
	return 0;
}
