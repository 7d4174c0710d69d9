/* mdv-token: prints a bearer token (a JWT, ES256) that the local gateway
 * accepts, with --partner one that the partners' API accepts, or with
 * --service one of an mdv service calling another's internal routes, for
 * trying the APIs by hand and for the end-to-end tests. The key, issuer and
 * audience come from the local stack's env file (MDV_JWT_* for usagers,
 * MDV_PARTNER_JWT_* for partners, MDV_SERVICE_JWT_* for services); --ttl
 * can go negative to get a token that is already expired. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/auth.h"
#include "mdv/log.h"

#define DEFAULT_TTL 3600L

struct options {
    const char *sub;
    const char *kind; /* "" (a usager), "PARTNER_" or "SERVICE_": whose key, issuer,
                         audience (MDV_<kind>JWT_*) */
    const char *issuer;
    const char *audience;
    long ttl;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mdv-token (--sub ID | --partner ID | --service ID) [--ttl SECONDS]\n"
            "                 [--audience AUD] [--issuer ISS]\n"
            "\n"
            "Prints a JWT (ES256) for the usager ID, signed with the key in\n"
            "MDV_JWT_PRIVATE_KEY_FILE, for MDV_JWT_ISSUER and MDV_JWT_AUDIENCE;\n"
            "with --partner, for the partner ID (rules/partners.tsv) with\n"
            "MDV_PARTNER_JWT_PRIVATE_KEY_FILE, MDV_PARTNER_JWT_ISSUER and\n"
            "MDV_PARTNER_JWT_AUDIENCE; with --service, for the mdv service ID\n"
            "(gateway...) with MDV_SERVICE_JWT_PRIVATE_KEY_FILE, MDV_SERVICE_JWT_ISSUER\n"
            "and MDV_SERVICE_JWT_AUDIENCE.\n"
            "\n"
            "  --sub ID          subject (the usager)\n"
            "  --partner ID      subject (a partner: cnav, dgfip...)\n"
            "  --service ID      subject (an mdv service: gateway...)\n"
            "  --ttl SECONDS     validity, default %ld; negative gives an expired token\n"
            "  --issuer ISS      overrides MDV_JWT_ISSUER\n"
            "  --audience AUD    overrides MDV_JWT_AUDIENCE\n"
            "  --help            this text\n",
            DEFAULT_TTL);
}

/* strtol accepts trailing junk and overflows quietly; a typo in --ttl must
 * not silently become a different lifetime. */
static int parse_ttl(const char *text, long *ttl)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0')
        return -1;
    /* Keep now + ttl far from time_t overflow. */
    if (v > INT_MAX || v < -(long)INT_MAX)
        return -1;
    *ttl = v;
    return 0;
}

/* Returns 0 to go on, 1 when --help was asked, -1 on a usage error. */
static int parse_args(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        {"sub", required_argument, NULL, 's'},      {"ttl", required_argument, NULL, 't'},
        {"audience", required_argument, NULL, 'a'}, {"issuer", required_argument, NULL, 'i'},
        {"partner", required_argument, NULL, 'p'},  {"service", required_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 's' || c == 'p' || c == 'v') {
            if (opt->sub) {
                fprintf(stderr, "mdv-token: one subject: --sub, --partner or --service, once\n");
                return -1;
            }
            opt->sub = optarg;
            opt->kind = c == 'p' ? "PARTNER_" : c == 'v' ? "SERVICE_" : "";
        } else if (c == 'a') {
            opt->audience = optarg;
        } else if (c == 'i') {
            opt->issuer = optarg;
        } else if (c == 't') {
            if (parse_ttl(optarg, &opt->ttl) != 0) {
                fprintf(stderr, "mdv-token: --ttl wants a whole number of seconds, not '%s'\n",
                        optarg);
                return -1;
            }
        } else if (c == 'h') {
            return 1;
        } else {
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mdv-token: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (!opt->sub || !*opt->sub) {
        fprintf(stderr, "mdv-token: --sub, --partner or --service is required\n");
        return -1;
    }
    return 0;
}

/* A flag wins over the environment; an empty value counts as missing. */
static const char *setting(const char *flag_value, const char *var)
{
    const char *v = flag_value ? flag_value : getenv(var);
    return v && *v ? v : NULL;
}

/* The usagers' variable, the partners' or the services' (MDV_JWT_X,
 * MDV_PARTNER_JWT_X, MDV_SERVICE_JWT_X). */
static const char *var_name(const struct options *opt, const char *suffix, char *buf, size_t len)
{
    snprintf(buf, len, "MDV_%sJWT_%s", opt->kind, suffix);
    return buf;
}

static int missing(const char *var, const char *flag)
{
    fprintf(stderr, "mdv-token: %s is not set%s%s (source the local stack's env file)\n", var,
            flag ? " and there is no " : "", flag ? flag : "");
    return 2;
}

/* mdv_auth_mint does not say why it failed; an unreadable file is the
 * usual cause and deserves its errno. */
static int key_readable(const char *var, const char *key_file)
{
    FILE *f = fopen(key_file, "rb");
    if (!f) {
        fprintf(stderr, "mdv-token: cannot read %s=%s: %s\n", var, key_file, strerror(errno));
        return 0;
    }
    fclose(f);
    return 1;
}

int main(int argc, char **argv)
{
    struct options opt = {.kind = "", .ttl = DEFAULT_TTL};
    char *token = NULL;
    int rc = 1;

    mdv_log_init("token", MDV_LOG_WARN);
    int parsed = parse_args(argc, argv, &opt);
    if (parsed != 0) {
        if (parsed > 0) {
            usage(stdout);
            return 0;
        }
        fprintf(stderr, "usage: mdv-token (--sub ID | --partner ID | --service ID) [--ttl "
                        "SECONDS] [--audience AUD] [--issuer ISS] (see --help)\n");
        return 2;
    }

    char key_var[40], iss_var[40], aud_var[40];
    var_name(&opt, "PRIVATE_KEY_FILE", key_var, sizeof(key_var));
    var_name(&opt, "ISSUER", iss_var, sizeof(iss_var));
    var_name(&opt, "AUDIENCE", aud_var, sizeof(aud_var));
    const char *key_file = setting(NULL, key_var);
    const char *issuer = setting(opt.issuer, iss_var);
    const char *audience = setting(opt.audience, aud_var);
    if (!key_file)
        return missing(key_var, NULL);
    if (!issuer)
        return missing(iss_var, "--issuer");
    if (!audience)
        return missing(aud_var, "--audience");
    if (!key_readable(key_var, key_file))
        return 1;

    token = mdv_auth_mint(key_file, issuer, audience, opt.sub, opt.ttl);
    if (!token) {
        fprintf(stderr, "mdv-token: cannot sign with %s: not a PEM EC P-256 private key?\n",
                key_file);
        goto out;
    }
    if (printf("%s\n", token) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "mdv-token: cannot write the token: %s\n", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(token);
    return rc;
}
