/* mdv-seed: writes synthetic persons into the local stack's service
 * databases (identity, student, housing, abroad, bereavement) and prints
 * each person as one JSON line: the pivot identity exactly as a declaration
 * carries it, which services hold a record of them, and what those records
 * say (seed_records.c).
 *
 * Everything printed follows from --seed alone (our own PRNG, never rand()),
 * so a test that names its seed names its persons, and two seeds practically
 * never share a person. Only row UUIDs and document expiry dates (kept in
 * the future) depend on the day of the run. The civil identity and
 * `records` come from one stream, the records' details from a second one,
 * so that a seed names the same persons, known to the same services, as
 * before the details existed (the first of every 20 is known to every
 * service, whatever its draw). */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mdv/log.h"
#include "mdv/pg.h"
#include "mdv/pivot.h"
#include "mdv/util.h"
#include "seed.h"

#define MAX_COUNT 100000UL
/* The first of every 20 persons is known everywhere with something for
 * each administration to do (struct person's everywhere), so that the
 * stack's 20 demo persons always hold one; the others are drawn. */
#define EVERYWHERE_EVERY 20
#define CONNECT_TIMEOUT_MS 3000
/* Any constant apart from 0: it sets the details' stream apart. */
#define LIFE_STREAM 0x6c69666573747265ULL

/* The databases, in enum service order; `records` names the first four. */
static const char *const service_names[NDATABASES] = {"identity", "student", "housing", "abroad",
                                                      "bereavement"};
#define ALL_SERVICES ((1u << NSERVICES) - 1)

/* Family names are 3-4 of these. Each starts with an ASCII letter, so that
 * capitalising a name is toupper on its first byte; some carry accents so
 * that the services' folding is exercised. 44^3 + 44^4 is about 3.8 million
 * names, before birth date and place make the pivot identity unique. */
static const char *const syllables[] = {
    "gar", "ne",  "lou", "ber", "vin", "mar",  "tel", "rou", "sel",  "lan", "dé",
    "ri",  "cha", "mon", "bré", "vil", "lé",   "cas", "ta",  "gnol", "pé",  "rin",
    "fau", "ché", "ver", "don", "bos", "quet", "la",  "mè",  "ran",  "tou", "beau",
    "duc", "cor", "nil", "sa",  "van", "gi",   "ré",  "mau", "pin",  "tho", "val",
};
/* First syllables of names with a particle ("d'Armelou"). */
static const char *const vowel_syllables[] = {"ar", "au", "el", "or", "ou", "es", "an", "é"};

static const char *const female_names[] = {
    "Marie",     "Jeanne",   "Hélène",   "Élodie", "Camille", "Sophie",        "Cécile",
    "Isabelle",  "Nathalie", "Amélie",   "Chloé",  "Léa",     "Anne",          "Françoise",
    "Geneviève", "Thérèse",  "Brigitte", "Claire", "Manon",   "Inès",          "Agnès",
    "Louise",    "Margaux",  "Noémie",   "Zoé",    "Solène",  "Marie-Thérèse", "Anne-Sophie",
};
static const char *const male_names[] = {
    "Jean",     "Pierre",   "Jérôme",  "Michel",  "André",    "Louis",       "François",
    "Jacques",  "Philippe", "René",    "Gérard",  "Frédéric", "Sébastien",   "Benoît",
    "Stéphane", "Thierry",  "Nicolas", "Olivier", "Julien",   "Hugo",        "Théo",
    "Mathéo",   "Noël",     "Loïc",    "Gaël",    "Aurélien", "Jean-Pierre", "Jean-Luc",
};

/* INSEE COG communes: Paris, Lyon, Marseille, Toulouse, Bordeaux, Ajaccio,
 * Bastia, Lille, Strasbourg, Nantes, Nice, Montpellier, Rennes, Rouen,
 * Dijon, Limoges, Clermont-Ferrand, Saint-Denis (La Réunion). */
static const char *const birth_places[] = {
    "75056", "69123", "13055", "31555", "33063", "2A004", "2B033", "59350", "67482",
    "44109", "06088", "34172", "35238", "76540", "21231", "87085", "63113", "97411",
};
/* INSEE COG countries: Germany, United Kingdom, Spain, Italy, Belgium,
 * Switzerland, Portugal, Canada, United States, Morocco. */
static const char *const countries[] = {"99109", "99132", "99134", "99127", "99131",
                                        "99140", "99139", "99401", "99404", "99350"};
static const char *const echelons[] = {"0bis", "1", "2", "3", "4", "5", "6", "7"};
static const char *const categories[] = {"bleu", "jaune", "violet", "rose"};

struct settings {
    unsigned long count;
    uint64_t seed;
    const char *host, *port, *user;
};

/* --- PRNG: xoshiro256**, seeded through splitmix64 ------------------------ */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Neighbouring seeds (tests use base, base+1, ...) land on unrelated
 * streams: splitmix64 scatters them over xoshiro's 2^256 states. */
void rng_seed(struct rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n); the modulo bias (at most n / 2^64) is negligible here. */
unsigned rng_below(struct rng *r, size_t n)
{
    return (unsigned)(rng_next(r) % n);
}

/* --- Drawing a person ------------------------------------------------------ */

static void append(char *buf, size_t size, const char *s)
{
    size_t used = strlen(buf);
    mdv_strlcpy(buf + used, s, size - used);
}

static void draw_syllables(struct rng *r, int count, char *out, size_t size)
{
    out[0] = '\0';
    for (int i = 0; i < count; i++)
        append(out, size, PICK(r, syllables));
}

static void capitalise(char *name)
{
    name[0] = (char)toupper((unsigned char)name[0]);
}

/* "d'" and a vowel: "d'Armelou". "é" has no one-byte capital, hence "É". */
static void draw_particle_name(struct rng *r, int n, char *out, size_t size)
{
    const char *vowel = PICK(r, vowel_syllables);
    char tail[32];

    draw_syllables(r, n - 1, tail, sizeof(tail));
    if (strcmp(vowel, "é") == 0) {
        snprintf(out, size, "d'É%s", tail);
    } else {
        snprintf(out, size, "d'%s%s", vowel, tail);
        capitalise(out + 2);
    }
}

/* Mostly "Garnelou"; now and then "Garne-Loubert" or "d'Armelou", whose
 * hyphen and apostrophe the pivot folding must drop. */
void draw_family_name(struct rng *r, char *out, size_t size)
{
    int n = 3 + (int)rng_below(r, 2);
    unsigned style = rng_below(r, 100);
    char head[32], tail[32];

    if (style < 6) {
        int split = 1 + (int)rng_below(r, (size_t)n - 1);
        draw_syllables(r, split, head, sizeof(head));
        draw_syllables(r, n - split, tail, sizeof(tail));
        capitalise(head);
        capitalise(tail);
        snprintf(out, size, "%s-%s", head, tail);
    } else if (style < 10) {
        draw_particle_name(r, n, out, size);
    } else {
        draw_syllables(r, n, out, size);
        capitalise(out);
    }
}

const char *draw_given_name(struct rng *r, int female)
{
    return female ? PICK(r, female_names) : PICK(r, male_names);
}

/* 1 to 3 distinct given names of the person's sex, the first being the one
 * the pivot identity keeps. */
static void draw_given_names(struct rng *r, struct person *p)
{
    int female = rng_below(r, 2) == 0;
    const char *const *names = female ? female_names : male_names;
    size_t n = female ? MDV_ARRAY_LEN(female_names) : MDV_ARRAY_LEN(male_names);
    unsigned roll = rng_below(r, 10);

    p->sex = female ? "F" : "M";
    p->given_count = roll < 4 ? 1 : roll < 8 ? 2 : 3;
    for (int i = 0; i < p->given_count; i++) {
        const char *name;
        int taken;
        do {
            name = names[rng_below(r, n)];
            taken = 0;
            for (int j = 0; j < i; j++)
                taken |= p->given_names[j] == name;
        } while (taken);
        p->given_names[i] = name;
    }
}

/* Days since 1970-01-01 of a calendar date (timegm is exact for UTC). */
long day_number(int year, int month, int day)
{
    struct tm tm = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day};
    return (long)(timegm(&tm) / 86400);
}

void format_day(long days, char out[DATE_LEN])
{
    time_t t = (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, DATE_LEN, "%Y-%m-%d", &tm);
}

long draw_day(struct rng *r, long first, long last, char out[DATE_LEN])
{
    long day = first + (long)rng_below(r, (size_t)(last - first + 1));
    format_day(day, out);
    return day;
}

/* A quarter known everywhere, 15% known nowhere (the "Aucun dossier"
 * journeys), the rest in some but not all services. */
static unsigned draw_records(struct rng *r)
{
    unsigned roll = rng_below(r, 100);
    if (roll < 25)
        return ALL_SERVICES;
    if (roll < 40)
        return 0;
    return 1 + rng_below(r, ALL_SERVICES - 1);
}

static void draw_details(struct rng *r, struct person *p, long born)
{
    snprintf(p->cni_number, sizeof(p->cni_number), "CNI%09u", rng_below(r, 1000000000));
    /* French passports: 2 digits, 2 letters, 5 digits. */
    snprintf(p->passport_number, sizeof(p->passport_number), "%02u%c%c%05u", rng_below(r, 100),
             'A' + rng_below(r, 26), 'A' + rng_below(r, 26), rng_below(r, 100000));
    p->cni_valid_days = 30 + (int)rng_below(r, 3650);
    p->passport_valid_days = 30 + (int)rng_below(r, 3650);
    p->bourse_echelon = PICK(r, echelons);
    p->mpr_category = PICK(r, categories);
    p->country_code = PICK(r, countries);
    /* Registered abroad as an adult, in this century. */
    long adult = born + 18 * 365 + 5, since = day_number(2000, 1, 1);
    draw_day(r, adult > since ? adult : since, day_number(2025, 12, 31), p->registered_on);
}

static int draw_person(struct rng *r, struct rng *life, struct person *p, int everywhere)
{
    long first = day_number(1930, 1, 1), last = day_number(2005, 12, 31);

    memset(p, 0, sizeof(*p));
    p->everywhere = everywhere;
    draw_family_name(r, p->family_name, sizeof(p->family_name));
    draw_given_names(r, p);
    long born = first + (long)rng_below(r, (size_t)(last - first + 1));
    format_day(born, p->birth_date);
    p->birth_place = PICK(r, birth_places);
    p->records = draw_records(r);
    if (p->everywhere)
        p->records = ALL_SERVICES;
    draw_details(r, p, born);
    if (mdv_pivot_key(p->family_name, p->given_names[0], p->sex, p->birth_date, p->birth_place,
                      p->pivot_key) != 0) {
        fprintf(stderr, "mdv-seed: cannot fold the pivot identity of %s %s\n", p->given_names[0],
                p->family_name);
        return -1;
    }
    return life_draw(life, p, born);
}

/* --- Writing the records ------------------------------------------------- */

/* libpq conninfo values in single quotes, so that no environment value can
 * add a keyword. The caller frees the result. */
static char *conninfo_quote(const char *value)
{
    char *out = mdv_xmalloc(2 * strlen(value) + 3), *w = out;
    *w++ = '\'';
    for (const char *c = value; *c; c++) {
        if (*c == '\'' || *c == '\\')
            *w++ = '\\';
        *w++ = *c;
    }
    *w++ = '\'';
    *w = '\0';
    return out;
}

static PGconn *connect_service(const struct settings *s, const char *service)
{
    char *host = conninfo_quote(s->host), *port = conninfo_quote(s->port);
    char *user = conninfo_quote(s->user);
    char *dsn = mdv_xasprintf("host=%s port=%s user=%s dbname=mdv_%s", host, port, user, service);
    PGconn *conn = mdv_pg_connect(dsn, CONNECT_TIMEOUT_MS);

    if (!conn)
        fprintf(stderr,
                "mdv-seed: database mdv_%s unreachable at %s:%s as %s (is the local stack up?)\n",
                service, s->host, s->port, s->user);
    free(dsn);
    free(user);
    free(port);
    free(host);
    return conn;
}

static int insert_person(PGconn *conns[NDATABASES], const struct person *p)
{
    int rc = records_insert(conns, p);
    if (rc != 0)
        fprintf(stderr, "mdv-seed: cannot insert %s %s (see the log line above)\n",
                p->given_names[0], p->family_name);
    return rc;
}

/* One transaction per database for the whole batch: it is fast (one commit
 * each) and a failed run leaves no half-written person in any one database. */
static int store_persons(const struct settings *s, const struct person *persons)
{
    PGconn *conns[NDATABASES] = {NULL};
    int rc = -1;

    for (int i = 0; i < NDATABASES; i++) {
        conns[i] = connect_service(s, service_names[i]);
        if (!conns[i] || mdv_pg_begin(conns[i]) != 0)
            goto out;
    }
    for (unsigned long k = 0; k < s->count; k++)
        if (insert_person(conns, &persons[k]) != 0)
            goto out;
    for (int i = 0; i < NDATABASES; i++) {
        if (mdv_pg_commit(conns[i]) != 0) {
            fprintf(stderr, "mdv-seed: commit failed in mdv_%s\n", service_names[i]);
            goto out;
        }
    }
    rc = 0;
out:
    for (int i = 0; i < NDATABASES; i++) {
        if (conns[i])
            mdv_pg_rollback(conns[i]);
        PQfinish(conns[i]);
    }
    return rc;
}

/* --- Output ------------------------------------------------------------------ */

/* jansson writes UTF-8 as is (no \u escapes without JSON_ENSURE_ASCII). */
static int print_person(const struct person *p)
{
    json_t *obj = json_object(), *given = json_array(), *records = json_array();

    for (int i = 0; i < p->given_count; i++)
        json_array_append_new(given, json_string(p->given_names[i]));
    for (int i = 0; i < NSERVICES; i++)
        if (p->records & (1u << i))
            json_array_append_new(records, json_string(service_names[i]));
    json_object_set_new(obj, "family_name", json_string(p->family_name));
    json_object_set_new(obj, "given_names", given);
    json_object_set_new(obj, "sex", json_string(p->sex));
    json_object_set_new(obj, "birth_date", json_string(p->birth_date));
    json_object_set_new(obj, "birth_place", json_string(p->birth_place));
    json_object_set_new(obj, "records", records);
    records_json(obj, p);
    char *line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    int rc = line && printf("%s\n", line) > 0 ? 0 : -1;
    free(line);
    json_decref(obj);
    return rc;
}

/* --- Command line ------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f, "usage: mdv-seed --count N --seed S\n"
               "\n"
               "Adds N synthetic persons, drawn deterministically from S, to the local\n"
               "stack's databases mdv_identity, mdv_student, mdv_housing, mdv_abroad and\n"
               "mdv_bereavement, and prints one JSON line per person (pivot identity,\n"
               "records, and what each record says).\n"
               "\n"
               "Environment: MDV_PG_PORT (required), MDV_PG_HOST (default 127.0.0.1),\n"
               "MDV_PG_USER (default mdv).\n");
}

/* Whole decimal numbers only: strtoull would take "-1" or "12abc". */
static int parse_number(const char *text, unsigned long long max, unsigned long long *out)
{
    char *end = NULL;
    if (!isdigit((unsigned char)text[0]))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Returns 0 to go on, 1 when --help was asked, -1 on a usage error. */
static int parse_args(int argc, char **argv, struct settings *s)
{
    static const struct option longopts[] = {{"count", required_argument, NULL, 'c'},
                                             {"seed", required_argument, NULL, 's'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    unsigned long long v;
    int c, have_count = 0, have_seed = 0;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'h')
            return 1;
        if (c != 'c' && c != 's')
            return -1;
        if (parse_number(optarg, c == 'c' ? MAX_COUNT : UINT64_MAX, &v) != 0) {
            if (c == 'c')
                fprintf(stderr, "mdv-seed: --count wants a whole number up to %lu, not '%s'\n",
                        MAX_COUNT, optarg);
            else
                fprintf(stderr, "mdv-seed: --seed wants a whole number, not '%s'\n", optarg);
            return -1;
        }
        if (c == 'c') {
            s->count = (unsigned long)v;
            have_count = 1;
        } else {
            s->seed = (uint64_t)v;
            have_seed = 1;
        }
    }
    if (optind < argc || !have_count || !have_seed) {
        fprintf(stderr, "mdv-seed: %s\n",
                optind < argc ? "unexpected argument" : "--count and --seed are required");
        return -1;
    }
    return 0;
}

static int read_env(struct settings *s)
{
    const char *host = getenv("MDV_PG_HOST"), *user = getenv("MDV_PG_USER");
    s->host = host && *host ? host : "127.0.0.1";
    s->user = user && *user ? user : "mdv";
    s->port = getenv("MDV_PG_PORT");
    if (!s->port || !*s->port) {
        fprintf(stderr, "mdv-seed: MDV_PG_PORT is not set (source the local stack's env file)\n");
        return -1;
    }
    return 0;
}

static int draw_persons(const struct settings *s, struct person *persons)
{
    struct rng r, life;
    rng_seed(&r, s->seed);
    rng_seed(&life, s->seed ^ LIFE_STREAM);
    for (unsigned long k = 0; k < s->count; k++)
        if (draw_person(&r, &life, &persons[k], k % EVERYWHERE_EVERY == 0) != 0)
            return -1;
    return 0;
}

int main(int argc, char **argv)
{
    struct settings s = {0};
    struct person *persons = NULL;
    int rc = 1;

    /* The pivot folding transliterates accents with iconv, which needs a
     * UTF-8 LC_CTYPE to turn "é" into "e" rather than "?". */
    if (!setlocale(LC_CTYPE, "C.UTF-8")) {
        fprintf(stderr, "mdv-seed: the C.UTF-8 locale is not available\n");
        return 1;
    }
    mdv_log_init("seed", MDV_LOG_WARN);
    int parsed = parse_args(argc, argv, &s);
    if (parsed > 0) {
        usage(stdout);
        return 0;
    }
    if (parsed < 0) {
        fprintf(stderr, "usage: mdv-seed --count N --seed S (see --help)\n");
        return 2;
    }
    if (read_env(&s) != 0)
        return 2;

    persons = mdv_xcalloc(s.count ? s.count : 1, sizeof(*persons));
    if (draw_persons(&s, persons) != 0 || store_persons(&s, persons) != 0)
        goto out;
    /* Printed only once committed: every line names a person that exists. */
    for (unsigned long k = 0; k < s.count; k++)
        if (print_person(&persons[k]) != 0)
            goto out;
    rc = fflush(stdout) == 0 ? 0 : 1;
out:
    free(persons);
    return rc;
}
