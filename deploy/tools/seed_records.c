/* mdv-seed: the records each service holds of a drawn person, consistent
 * across services so that every journey has persons for whom every step
 * does something:
 *   identity     the person, their documents, a current main address in
 *                France (sometimes an earlier one), sometimes a nom d'usage;
 *   abroad       an inscription au registre, open (a Français who came back
 *                without closing it: an address_change offers to close it)
 *                or closed, with its consulate and address abroad;
 *   student      an open file whose family home is the person's address or
 *                a parent's, with a place of study, the distance points and
 *                resources that give its échelon on the barème; for some
 *                persons it also knows, the file of a child of theirs whose
 *                family home is the person's address (parent_pivot_key), so
 *                that the parent's move reaches the child's distance points;
 *   housing      an open MaPrimeRénov' file for the dwelling at the
 *                person's address (so an address_change moves away from it);
 *   bereavement  for some persons known to identity, a surviving spouse's
 *                claim (the spouse's death record and the claim, at the
 *                person's address).
 * A person drawn `everywhere` has all of them, the student file at their
 * own address and the inscription open: an address_change gives every
 * administration something to do.
 * Every value follows from the seed: dates are fixed ranges, never today. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdv/pg.h"
#include "seed.h"

#define FRANCE "99100"
#define EARTH_RADIUS_KM 6371.0
#define SEED_USAGER "mdv-seed"

/* INSEE COG communes, with postcodes that belong to each (COG data of
 * @etalab/decoupage-administratif) and the commune's coordinates. */
struct place {
    const char *commune_code, *city;
    const char *postal_codes[4];
    double lat, lon;
};
static const struct place places[] = {
    {"75056", "Paris", {"75004", "75011", "75015", "75018"}, 48.8566, 2.3522},
    {"69123", "Lyon", {"69001", "69003", "69007"}, 45.7640, 4.8357},
    {"13055", "Marseille", {"13001", "13006", "13008"}, 43.2965, 5.3698},
    {"31555", "Toulouse", {"31000", "31300", "31400"}, 43.6047, 1.4442},
    {"33063", "Bordeaux", {"33000", "33800"}, 44.8378, -0.5792},
    {"2A004", "Ajaccio", {"20000", "20090"}, 41.9192, 8.7386},
    {"2B033", "Bastia", {"20200", "20600"}, 42.6973, 9.4509},
    {"59350", "Lille", {"59000", "59800"}, 50.6292, 3.0573},
    {"67482", "Strasbourg", {"67000", "67100"}, 48.5734, 7.7521},
    {"44109", "Nantes", {"44000", "44300"}, 47.2184, -1.5536},
    {"06088", "Nice", {"06000", "06300"}, 43.7102, 7.2620},
    {"34172", "Montpellier", {"34000", "34090"}, 43.6108, 3.8767},
    {"35238", "Rennes", {"35000", "35700"}, 48.1173, -1.6778},
    {"76540", "Rouen", {"76000", "76100"}, 49.4432, 1.0999},
    {"21231", "Dijon", {"21000"}, 47.3220, 5.0415},
    {"87085", "Limoges", {"87000", "87100"}, 45.8336, 1.2611},
    {"63113", "Clermont-Ferrand", {"63000", "63100"}, 45.7772, 3.0870},
    {"97411", "Saint-Denis", {"97400", "97490"}, -20.8821, 55.4507},
    {"78646", "Versailles", {"78000"}, 48.8049, 2.1204},
    {"69266", "Villeurbanne", {"69100"}, 45.7719, 4.8902},
    {"92012", "Boulogne-Billancourt", {"92100"}, 48.8397, 2.2399},
    {"31069", "Blagnac", {"31700"}, 43.6370, 1.3900},
    {"13001", "Aix-en-Provence", {"13090", "13100"}, 43.5297, 5.4474},
};
static const char *const streets[] = {
    "rue des Lilas",   "avenue Jean Jaurès", "boulevard Victor Hugo",    "rue de la République",
    "place du Marché", "allée des Tilleuls", "impasse du Moulin",        "chemin des Vignes",
    "rue Pasteur",     "quai des Célestins", "rue du Général de Gaulle", "avenue de la Gare",
};
static const char *const second_lines[] = {"Bâtiment B", "Appartement 12", "Résidence Les Pins",
                                           "Escalier C, 3e étage"};

/* The countries seed.c draws registrations in, a city there, and the
 * consular post that keeps the registre for it. */
struct country {
    const char *code, *city, *postal_code, *street, *consulate;
    int number_first; /* "12 Baker Street" rather than "Via del Corso 12" */
};
static const struct country countries[] = {
    {"99109", "München", "80331", "Leopoldstraße", "Consulat général de France à Munich", 0},
    {"99132", "London", "SW7 2EU", "Cromwell Road", "Consulat général de France à Londres", 1},
    {"99134", "Madrid", "28004", "Calle de Fuencarral", "Consulat général de France à Madrid", 0},
    {"99127", "Roma", "00186", "Via del Corso", "Consulat général de France à Rome", 0},
    {"99131", "Bruxelles", "1000", "rue de la Loi", "Consulat général de France à Bruxelles", 0},
    {"99140", "Genève", "1204", "rue du Rhône", "Consulat général de France à Genève", 0},
    {"99139", "Lisboa", "1100-148", "Rua Augusta", "Consulat général de France à Lisbonne", 0},
    {"99401", "Montréal", "H2X 1Y4", "rue Saint-Denis", "Consulat général de France à Montréal", 1},
    {"99404", "New York", "10021", "East 79th Street", "Consulat général de France à New York", 1},
    {"99350", "Casablanca", "20250", "boulevard d'Anfa", "Consulat général de France à Casablanca",
     1},
};

/* Bourse sur critères sociaux 2025-2026: resource ceilings (euros) by
 * points de charge (rows 0-8) and échelon (0bis, 1 ... 7); distance points
 * by band of the family home to the place of study. RULES-REFERENCE.md. */
static const char *const echelons[] = {"0bis", "1", "2", "3", "4", "5", "6", "7"};
static const int ceilings[9][8] = {
    {35086, 23850, 19281, 17034, 14829, 12667, 7992, 265},
    {38966, 26500, 21423, 18921, 16472, 14077, 8872, 530},
    {42877, 29150, 23564, 20818, 18126, 15476, 9773, 795},
    {46767, 31800, 25705, 22716, 19758, 16875, 10653, 1060},
    {50668, 34450, 27846, 24603, 21412, 18285, 11533, 1325},
    {54569, 37111, 29998, 26500, 23066, 19695, 12434, 1590},
    {58459, 39761, 32139, 28376, 24709, 21105, 13324, 1855},
    {62360, 42411, 34280, 30274, 26352, 22514, 14215, 2120},
    {66261, 45061, 36422, 32171, 28005, 23914, 15094, 2385},
};
static const struct {
    int from_km, points;
} distance_bands[] = {{13000, 4}, {3500, 3}, {250, 2}, {30, 1}, {0, 0}};

/* --- Drawing --------------------------------------------------------------- */

static size_t postal_count(const struct place *pl)
{
    size_t n = 0;
    while (n < MDV_ARRAY_LEN(pl->postal_codes) && pl->postal_codes[n])
        n++;
    return n;
}

static void draw_address_at(struct rng *r, const struct place *pl, struct address *a)
{
    unsigned number = 1 + rng_below(r, 180);
    snprintf(a->line1, sizeof(a->line1), "%u %s", number, PICK(r, streets));
    a->line2 = rng_below(r, 4) == 0 ? PICK(r, second_lines) : NULL;
    a->postal_code = pl->postal_codes[rng_below(r, postal_count(pl))];
    a->commune_code = pl->commune_code;
    a->city = pl->city;
    a->country_code = FRANCE;
    a->lat = pl->lat;
    a->lon = pl->lon;
}

static const struct place *draw_address(struct rng *r, struct address *a)
{
    const struct place *pl = &PICK(r, places);
    draw_address_at(r, pl, a);
    return pl;
}

static const struct country *country_of(const char *code)
{
    for (size_t i = 0; i < MDV_ARRAY_LEN(countries); i++)
        if (strcmp(countries[i].code, code) == 0)
            return &countries[i];
    return NULL;
}

static void draw_abroad_address(struct rng *r, const struct country *c, struct address *a)
{
    unsigned number = 1 + rng_below(r, 250);
    if (c->number_first)
        snprintf(a->line1, sizeof(a->line1), "%u %s", number, c->street);
    else
        snprintf(a->line1, sizeof(a->line1), "%s %u", c->street, number);
    a->line2 = NULL;
    a->postal_code = c->postal_code;
    a->commune_code = NULL;
    a->city = c->city;
    a->country_code = c->code;
    a->lat = a->lon = 0;
}

static long parse_day(const char *date)
{
    int y = 0, m = 0, d = 0;
    if (sscanf(date, "%4d-%2d-%2d", &y, &m, &d) != 3)
        return 0;
    return day_number(y, m, d);
}

/* registered_on + 5 years as PostgreSQL computes it (29 February gives
 * 28 February), so that the printed date is the generated column's. */
static void five_years_after(const char *date, char out[DATE_LEN])
{
    int y = 0, m = 0, d = 0;
    if (sscanf(date, "%4d-%2d-%2d", &y, &m, &d) != 3) {
        out[0] = '\0';
        return;
    }
    y += 5;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        d = 28;
    format_day(day_number(y, m, d), out);
}

static void draw_identity_life(struct rng *r, struct person *p, long born)
{
    struct life *l = &p->life;
    long adult = born + 18 * 365 + 5, since = day_number(1990, 1, 1);
    long earliest = adult > since ? adult : since;
    long home_from = draw_day(r, earliest, day_number(2025, 6, 30), l->home_from);

    draw_address(r, &l->home);
    l->has_previous = rng_below(r, 10) < 4 && home_from - 365 >= earliest;
    if (l->has_previous) {
        draw_day(r, earliest, home_from - 365, l->previous_from);
        draw_address(r, &l->previous);
    }
    l->usage_name[0] = '\0';
    if (rng_below(r, 10) < 3)
        draw_family_name(r, l->usage_name, sizeof(l->usage_name));
}

static int draw_abroad_life(struct rng *r, struct person *p, long born)
{
    struct life *l = &p->life;
    const struct country *c = country_of(p->country_code);
    long registered = parse_day(p->registered_on), cap = day_number(2026, 6, 30);

    if (!c)
        return -1;
    l->consulate = c->consulate;
    draw_abroad_address(r, c, &l->abroad);
    l->registration_closed = !p->everywhere && rng_below(r, 4) == 0;
    if (l->registration_closed) {
        long closed = registered + 180 + (long)rng_below(r, 1620);
        format_day(closed < cap ? closed : cap, l->closed_on);
    } else {
        /* An open inscription is within its 5 years (until mid-2027 at
         * least): registered again, from 2022-06 on. */
        long adult = born + 18 * 365 + 5, since = day_number(2022, 6, 1);
        draw_day(r, adult > since ? adult : since, day_number(2025, 12, 31), p->registered_on);
    }
    five_years_after(p->registered_on, l->expires_on);
    return 0;
}

static int points_for(int km)
{
    for (size_t i = 0; i < MDV_ARRAY_LEN(distance_bands); i++)
        if (km >= distance_bands[i].from_km)
            return distance_bands[i].points;
    return 0;
}

/* Great-circle distance between two communes, in whole kilometres. */
static int distance_km(double lat1, double lon1, double lat2, double lon2)
{
    double rad = M_PI / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double h = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return (int)lround(2 * EARTH_RADIUS_KM * asin(sqrt(h)));
}

static size_t echelon_index(const char *echelon)
{
    for (size_t i = 0; i < MDV_ARRAY_LEN(echelons); i++)
        if (strcmp(echelons[i], echelon) == 0)
            return i;
    return 0;
}

/* Resources within the band of the file's échelon at its points: above
 * the next échelon's ceiling, at most its own. */
static int draw_resources(struct rng *r, const char *echelon, int points)
{
    size_t e = echelon_index(echelon);
    int high = ceilings[points][e],
        low = e + 1 < MDV_ARRAY_LEN(echelons) ? ceilings[points][e + 1] + 1 : 0;
    return low + (int)rng_below(r, (size_t)(high - low + 1));
}

static void draw_student_life(struct rng *r, struct person *p)
{
    struct life *l = &p->life;
    unsigned roll = rng_below(r, 100);

    l->home_of_parent = !p->everywhere && rng_below(r, 2);
    if (l->home_of_parent)
        draw_address(r, &l->family_home);
    else
        l->family_home = l->home;
    const struct place *study = rng_below(r, 3) == 0 ? NULL : &PICK(r, places);
    l->study_commune_code = study ? study->commune_code : l->family_home.commune_code;
    l->distance_km =
        study ? distance_km(l->family_home.lat, l->family_home.lon, study->lat, study->lon) : 0;
    l->distance_points = points_for(l->distance_km);
    l->other_points = roll < 60 ? 0 : roll < 85 ? 2 : 4;
    l->resources = draw_resources(r, p->bourse_echelon, l->distance_points + l->other_points);
}

/* A spouse who died in 2023-2025: a widow(er) using the late spouse's
 * name as nom d'usage carries that name. */
static int draw_claim(struct rng *r, struct person *p, long born)
{
    struct life *l = &p->life;
    int female = strcmp(p->sex, "M") == 0;
    long last_birth = day_number(2005, 12, 31);

    l->has_claim = (p->records & (1u << IDENTITY)) && (p->everywhere || rng_below(r, 5) == 0);
    if (l->usage_name[0])
        mdv_strlcpy(l->deceased_family_name, l->usage_name, sizeof(l->deceased_family_name));
    else
        draw_family_name(r, l->deceased_family_name, sizeof(l->deceased_family_name));
    l->deceased_given = draw_given_name(r, female);
    l->deceased_sex = female ? "F" : "M";
    draw_day(r, born - 1826, born + 1826 < last_birth ? born + 1826 : last_birth,
             l->deceased_birth_date);
    l->deceased_birth_place = PICK(r, places).commune_code;
    l->death_place = PICK(r, places).commune_code;
    long died = draw_day(r, day_number(2023, 1, 1), day_number(2025, 10, 31), l->death_date);
    format_day(died + 20, l->offered_on);
    l->claim_confirmed = rng_below(r, 5) < 2;
    format_day(died + 30, l->confirmed_on);
    return mdv_pivot_key(l->deceased_family_name, l->deceased_given, l->deceased_sex,
                         l->deceased_birth_date, l->deceased_birth_place, l->deceased_key);
}

/* A child aged 18 to 23 in 2026, studying, whose family home is the
 * person's address: only for a person the CROUS knows (a student's parent
 * who is a student too: the CROUS then holds a record naming them either
 * way) old enough to be their parent. */
static int draw_child_file(struct rng *r, struct person *p, long born)
{
    struct life *l = &p->life;
    long first = day_number(2003, 1, 1), last = day_number(2007, 12, 31);
    int female = rng_below(r, 2) == 0;

    l->has_child_file = (p->records & (1u << IDENTITY)) && (p->records & (1u << STUDENT)) &&
                        born + 20 * 365 < first && rng_below(r, 3) == 0;
    do
        l->child_given = draw_given_name(r, female);
    while (strcmp(l->child_given, p->given_names[0]) == 0);
    l->child_sex = female ? "F" : "M";
    draw_day(r, first, last, l->child_birth_date);
    l->child_birth_place = PICK(r, places).commune_code;
    l->child_echelon = PICK(r, echelons);
    const struct place *study = &PICK(r, places);
    l->child_study_commune_code = study->commune_code;
    l->child_distance_km = distance_km(l->home.lat, l->home.lon, study->lat, study->lon);
    l->child_distance_points = points_for(l->child_distance_km);
    l->child_other_points = rng_below(r, 2) ? 0 : 2;
    l->child_resources =
        draw_resources(r, l->child_echelon, l->child_distance_points + l->child_other_points);
    return mdv_pivot_key(p->family_name, l->child_given, l->child_sex, l->child_birth_date,
                         l->child_birth_place, l->child_key);
}

int life_draw(struct rng *r, struct person *p, long born)
{
    draw_identity_life(r, p, born);
    if (draw_abroad_life(r, p, born) != 0) {
        fprintf(stderr, "mdv-seed: no consulate for country %s\n", p->country_code);
        return -1;
    }
    draw_student_life(r, p);
    if (draw_claim(r, p, born) != 0) {
        fprintf(stderr, "mdv-seed: cannot fold the pivot identity of %s's spouse\n",
                p->family_name);
        return -1;
    }
    if (draw_child_file(r, p, born) != 0) {
        fprintf(stderr, "mdv-seed: cannot fold the pivot identity of %s's child\n", p->family_name);
        return -1;
    }
    return 0;
}

/* --- Writing -------------------------------------------------------------- */

/* A text[] literal: every element double-quoted (and \ and " escaped), so
 * that a name or line holding a space, comma or brace stays one element.
 * The caller frees the result. */
static char *array_literal(const char *const *items, int n)
{
    size_t size = 3;
    for (int i = 0; i < n; i++)
        size += 2 * strlen(items[i]) + 3;
    char *out = mdv_xmalloc(size), *w = out;
    *w++ = '{';
    for (int i = 0; i < n; i++) {
        if (i > 0)
            *w++ = ',';
        *w++ = '"';
        for (const char *c = items[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                *w++ = '\\';
            *w++ = *c;
        }
        *w++ = '"';
    }
    *w++ = '}';
    *w = '\0';
    return out;
}

/* The caller frees the result. */
static char *lines_literal(const struct address *a)
{
    const char *lines[] = {a->line1, a->line2};
    return array_literal(lines, a->line2 ? 2 : 1);
}

/* A date days from now, for documents that must still be valid. */
static void date_from_now(int days, char out[DATE_LEN])
{
    char stamp[MDV_TIME_LEN];
    mdv_time_plus_days(time(NULL), days, stamp);
    mdv_strlcpy(out, stamp, DATE_LEN);
}

static int insert_address(PGconn *conn, const char *person_id, const struct address *a,
                          const char *from, const char *to)
{
    char *lines = lines_literal(a);
    const char *params[] = {person_id, lines,           a->postal_code, a->commune_code,
                            a->city,   a->country_code, from,           to};
    int rc = mdv_pg_exec(conn,
                         "INSERT INTO addresses (person_id, lines, postal_code, commune_code,"
                         " city, country_code, valid_from, valid_to)"
                         " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                         8, params);
    free(lines);
    return rc;
}

static int insert_documents(PGconn *conn, const struct person *p, const char *person_id)
{
    char cni_id[MDV_UUID_LEN], passport_id[MDV_UUID_LEN];
    char cni_expiry[DATE_LEN], passport_expiry[DATE_LEN];

    mdv_uuid_new(cni_id);
    mdv_uuid_new(passport_id);
    date_from_now(p->cni_valid_days, cni_expiry);
    date_from_now(p->passport_valid_days, passport_expiry);
    const char *documents[] = {cni_id,      person_id,          p->cni_number,  cni_expiry,
                               passport_id, p->passport_number, passport_expiry};
    return mdv_pg_exec(conn,
                       "INSERT INTO identity_documents (document_id, person_id, kind, number,"
                       " status, expires_on) VALUES ($1, $2, 'cni', $3, 'valid', $4),"
                       " ($5, $2, 'passport', $6, 'valid', $7)",
                       7, documents);
}

static int insert_identity(PGconn *conn, const struct person *p, const char *given)
{
    const struct life *l = &p->life;
    char person_id[MDV_UUID_LEN];

    mdv_uuid_new(person_id);
    const char *person[] = {person_id,     p->family_name, given,        p->sex,
                            p->birth_date, p->birth_place, p->pivot_key, l->usage_name};
    if (!l->usage_name[0])
        person[7] = NULL;
    if (mdv_pg_exec(conn,
                    "INSERT INTO persons (person_id, family_name, given_names, sex, birth_date,"
                    " birth_place, pivot_key, usage_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    8, person) != 0 ||
        insert_documents(conn, p, person_id) != 0)
        return -1;
    if (l->has_previous &&
        insert_address(conn, person_id, &l->previous, l->previous_from, l->home_from) != 0)
        return -1;
    return insert_address(conn, person_id, &l->home, l->home_from, NULL);
}

static int insert_student(PGconn *conn, const struct person *p, const char *given)
{
    const struct life *l = &p->life;
    char file_id[MDV_UUID_LEN], km[16], points[16], other[16], resources[16];

    mdv_uuid_new(file_id);
    snprintf(km, sizeof(km), "%d", l->distance_km);
    snprintf(points, sizeof(points), "%d", l->distance_points);
    snprintf(other, sizeof(other), "%d", l->other_points);
    snprintf(resources, sizeof(resources), "%d", l->resources);
    const char *params[] = {file_id,
                            p->family_name,
                            given,
                            p->pivot_key,
                            p->bourse_echelon,
                            l->family_home.postal_code,
                            l->family_home.commune_code,
                            l->home_of_parent ? "parent" : "student",
                            l->study_commune_code,
                            km,
                            points,
                            other,
                            resources};
    return mdv_pg_exec(conn,
                       "INSERT INTO student_files (file_id, family_name, given_names, pivot_key,"
                       " status, bourse_echelon, home_postal_code, home_commune_code, home_of,"
                       " study_commune_code, distance_km, distance_points, other_points,"
                       " resources) VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, $10,"
                       " $11, $12, $13)",
                       13, params);
}

/* The child's file: its family home is the parent's address, and the
 * parent is named by their matching key. */
static int insert_child_file(PGconn *conn, const struct person *p)
{
    const struct life *l = &p->life;
    char file_id[MDV_UUID_LEN], km[16], points[16], other[16], resources[16];
    char *given = array_literal(&l->child_given, 1);

    mdv_uuid_new(file_id);
    snprintf(km, sizeof(km), "%d", l->child_distance_km);
    snprintf(points, sizeof(points), "%d", l->child_distance_points);
    snprintf(other, sizeof(other), "%d", l->child_other_points);
    snprintf(resources, sizeof(resources), "%d", l->child_resources);
    const char *params[] = {file_id,
                            p->family_name,
                            given,
                            l->child_key,
                            p->pivot_key,
                            l->child_echelon,
                            l->home.postal_code,
                            l->home.commune_code,
                            l->child_study_commune_code,
                            km,
                            points,
                            other,
                            resources};
    int rc = mdv_pg_exec(conn,
                         "INSERT INTO student_files (file_id, family_name, given_names, pivot_key,"
                         " parent_pivot_key, status, bourse_echelon, home_postal_code,"
                         " home_commune_code, home_of, study_commune_code, distance_km,"
                         " distance_points, other_points, resources) VALUES ($1, $2, $3, $4, $5,"
                         " 'open', $6, $7, $8, 'parent', $9, $10, $11, $12, $13)",
                         13, params);
    free(given);
    return rc;
}

static int insert_housing(PGconn *conn, const struct person *p, const char *given)
{
    const struct address *home = &p->life.home;
    char file_id[MDV_UUID_LEN];
    char *lines = lines_literal(home);

    mdv_uuid_new(file_id);
    const char *params[] = {file_id,           p->family_name,    given,
                            p->pivot_key,      p->mpr_category,   lines,
                            home->postal_code, home->commune_code};
    int rc = mdv_pg_exec(conn,
                         "INSERT INTO mpr_files (file_id, family_name, given_names, pivot_key,"
                         " category, status, dwelling_lines, dwelling_postal_code,"
                         " dwelling_commune_code) VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8)",
                         8, params);
    free(lines);
    return rc;
}

/* A closed inscription ended with a return to France (closed_reason
 * 'retour'), on closed_on. */
static int insert_abroad(PGconn *conn, const struct person *p, const char *given)
{
    const struct life *l = &p->life;
    char registration_id[MDV_UUID_LEN];
    char *lines = lines_literal(&l->abroad);
    const char *closed = l->registration_closed ? l->closed_on : NULL;

    mdv_uuid_new(registration_id);
    const char *params[] = {registration_id,
                            p->family_name,
                            given,
                            p->pivot_key,
                            p->country_code,
                            l->registration_closed ? "closed" : "open",
                            p->registered_on,
                            l->consulate,
                            lines,
                            l->abroad.postal_code,
                            l->abroad.city,
                            closed,
                            closed ? "retour" : NULL,
                            closed};
    int rc = mdv_pg_exec(conn,
                         "INSERT INTO registrations (registration_id, family_name, given_names,"
                         " pivot_key, country_code, status, registered_on, consulate,"
                         " address_lines, address_postal_code, address_city, closed_on,"
                         " closed_reason, closed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
                         " $9, $10, $11, $12, $13, $14)",
                         14, params);
    free(lines);
    return rc;
}

/* The spouse's death record and the survivor's claim. Seeding the same
 * seed again finds both there (one record per death, one claim per
 * deceased) and adds nothing. */
static int insert_bereavement(PGconn *conn, const struct person *p)
{
    const struct life *l = &p->life;
    char journey_id[MDV_UUID_LEN];
    char *given = array_literal(&l->deceased_given, 1), *lines = lines_literal(&l->home);

    mdv_uuid_new(journey_id);
    const char *params[] = {journey_id,
                            SEED_USAGER,
                            l->deceased_family_name,
                            given,
                            l->deceased_sex,
                            l->deceased_birth_date,
                            l->deceased_birth_place,
                            l->death_date,
                            l->death_place,
                            l->offered_on,
                            l->deceased_key,
                            l->claim_confirmed ? "confirmed" : "offered",
                            l->claim_confirmed ? l->confirmed_on : NULL,
                            p->pivot_key,
                            lines,
                            l->home.postal_code,
                            l->home.commune_code,
                            l->home.city};
    int rc = mdv_pg_exec(
        conn,
        "WITH death AS (INSERT INTO death_records (journey_id, usager_id, family_name,"
        "      given_names, sex, birth_date, birth_place, death_date, death_place,"
        "      declarant_relationship, recorded_at, pivot_key)"
        "      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'spouse', $10, $11)"
        "      ON CONFLICT DO NOTHING RETURNING journey_id),"
        "  first AS (SELECT journey_id FROM death UNION ALL"
        "      SELECT journey_id FROM death_records WHERE pivot_key = $11"
        "      AND death_date = $8 AND repeat_of IS NULL LIMIT 1)"
        " INSERT INTO survivor_claims (journey_id, usager_id, status, offered_at,"
        "      confirmed_at, deceased_key, survivor_key, address_lines, address_postal_code,"
        "      address_commune_code, address_city)"
        " SELECT journey_id, $2, $12, $10, $13, $11, $14, $15, $16, $17, $18 FROM first"
        " ON CONFLICT DO NOTHING",
        18, params);
    free(lines);
    free(given);
    return rc;
}

typedef int (*insert_fn)(PGconn *conn, const struct person *p, const char *given);
static const insert_fn inserters[NSERVICES] = {insert_identity, insert_student, insert_housing,
                                               insert_abroad};

int records_insert(PGconn *conns[NDATABASES], const struct person *p)
{
    char *given = array_literal(p->given_names, p->given_count);
    int rc = 0;

    for (int i = 0; i < NSERVICES && rc == 0; i++)
        if (p->records & (1u << i))
            rc = inserters[i](conns[i], p, given);
    if (rc == 0 && p->life.has_child_file)
        rc = insert_child_file(conns[STUDENT], p);
    if (rc == 0 && p->life.has_claim)
        rc = insert_bereavement(conns[BEREAVEMENT], p);
    free(given);
    return rc;
}

/* --- Output ------------------------------------------------------------------ */

static json_t *address_json(const struct address *a)
{
    json_t *obj = json_object(), *lines = json_array();

    json_array_append_new(lines, json_string(a->line1));
    if (a->line2)
        json_array_append_new(lines, json_string(a->line2));
    json_object_set_new(obj, "lines", lines);
    if (a->postal_code)
        json_object_set_new(obj, "postal_code", json_string(a->postal_code));
    if (a->commune_code)
        json_object_set_new(obj, "commune_code", json_string(a->commune_code));
    json_object_set_new(obj, "city", json_string(a->city));
    json_object_set_new(obj, "country_code", json_string(a->country_code));
    return obj;
}

static json_t *registration_json(const struct person *p)
{
    const struct life *l = &p->life;
    json_t *obj = json_object();

    json_object_set_new(obj, "country_code", json_string(p->country_code));
    json_object_set_new(obj, "consulate", json_string(l->consulate));
    json_object_set_new(obj, "status", json_string(l->registration_closed ? "closed" : "open"));
    json_object_set_new(obj, "registered_on", json_string(p->registered_on));
    json_object_set_new(obj, "expires_on", json_string(l->expires_on));
    if (l->registration_closed)
        json_object_set_new(obj, "closed_on", json_string(l->closed_on));
    json_object_set_new(obj, "address", address_json(&l->abroad));
    return obj;
}

static json_t *student_json(const struct person *p)
{
    const struct life *l = &p->life;
    json_t *obj = json_object(), *home = json_object();

    json_object_set_new(home, "postal_code", json_string(l->family_home.postal_code));
    json_object_set_new(home, "commune_code", json_string(l->family_home.commune_code));
    json_object_set_new(obj, "status", json_string("open"));
    json_object_set_new(obj, "bourse_echelon", json_string(p->bourse_echelon));
    json_object_set_new(obj, "bourse_status", json_string("active"));
    json_object_set_new(obj, "home_of", json_string(l->home_of_parent ? "parent" : "student"));
    json_object_set_new(obj, "family_home", home);
    json_object_set_new(obj, "study_commune_code", json_string(l->study_commune_code));
    json_object_set_new(obj, "distance_km", json_integer(l->distance_km));
    json_object_set_new(obj, "distance_points", json_integer(l->distance_points));
    json_object_set_new(obj, "other_points", json_integer(l->other_points));
    json_object_set_new(obj, "resources", json_integer(l->resources));
    return obj;
}

static json_t *child_json(const struct person *p)
{
    const struct life *l = &p->life;
    json_t *obj = json_object(), *child = json_object(), *given = json_array();
    json_t *home = json_object();

    json_array_append_new(given, json_string(l->child_given));
    json_object_set_new(child, "family_name", json_string(p->family_name));
    json_object_set_new(child, "given_names", given);
    json_object_set_new(child, "sex", json_string(l->child_sex));
    json_object_set_new(child, "birth_date", json_string(l->child_birth_date));
    json_object_set_new(child, "birth_place", json_string(l->child_birth_place));
    json_object_set_new(home, "postal_code", json_string(l->home.postal_code));
    json_object_set_new(home, "commune_code", json_string(l->home.commune_code));
    json_object_set_new(obj, "child", child);
    json_object_set_new(obj, "status", json_string("open"));
    json_object_set_new(obj, "bourse_echelon", json_string(l->child_echelon));
    json_object_set_new(obj, "home_of", json_string("parent"));
    json_object_set_new(obj, "family_home", home);
    json_object_set_new(obj, "study_commune_code", json_string(l->child_study_commune_code));
    json_object_set_new(obj, "distance_km", json_integer(l->child_distance_km));
    json_object_set_new(obj, "distance_points", json_integer(l->child_distance_points));
    json_object_set_new(obj, "other_points", json_integer(l->child_other_points));
    json_object_set_new(obj, "resources", json_integer(l->child_resources));
    return obj;
}

static json_t *mpr_json(const struct person *p)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "category", json_string(p->mpr_category));
    json_object_set_new(obj, "status", json_string("open"));
    json_object_set_new(obj, "dwelling", address_json(&p->life.home));
    return obj;
}

static json_t *claim_json(const struct person *p)
{
    const struct life *l = &p->life;
    json_t *obj = json_object(), *deceased = json_object(), *given = json_array();

    json_array_append_new(given, json_string(l->deceased_given));
    json_object_set_new(deceased, "family_name", json_string(l->deceased_family_name));
    json_object_set_new(deceased, "given_names", given);
    json_object_set_new(deceased, "sex", json_string(l->deceased_sex));
    json_object_set_new(deceased, "birth_date", json_string(l->deceased_birth_date));
    json_object_set_new(deceased, "birth_place", json_string(l->deceased_birth_place));
    json_object_set_new(obj, "status", json_string(l->claim_confirmed ? "confirmed" : "offered"));
    json_object_set_new(obj, "deceased", deceased);
    json_object_set_new(obj, "death_date", json_string(l->death_date));
    json_object_set_new(obj, "address", address_json(&l->home));
    return obj;
}

/* The fiscal household a renovation_grant of the person declares: 1 to 6
 * persons and a revenu fiscal de référence from 5 000 to 109 999 €, which
 * spreads the seeded persons over the four MaPrimeRénov' categories. No
 * service holds it (it is the usager's to declare): it is taken from a
 * hash of the matching key, not from the random streams, so that the
 * records drawn for a seed stay what they were. */
static json_t *household_json(const struct person *p)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *c = p->pivot_key; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    json_t *obj = json_object();
    json_object_set_new(obj, "persons", json_integer((json_int_t)(1 + h % 6)));
    json_object_set_new(obj, "reference_tax_income_eur",
                        json_integer((json_int_t)(5000 + (h / 6) % 105000)));
    return obj;
}

/* The titles insert_documents wrote: both valid, each until its date. */
static json_t *documents_json(const struct person *p)
{
    const struct {
        const char *kind, *number;
        int days;
    } titles[] = {{"cni", p->cni_number, p->cni_valid_days},
                  {"passport", p->passport_number, p->passport_valid_days}};
    json_t *list = json_array();
    for (size_t i = 0; i < MDV_ARRAY_LEN(titles); i++) {
        char expiry[DATE_LEN];
        date_from_now(titles[i].days, expiry);
        json_array_append_new(list,
                              json_pack("{s:s, s:s, s:s, s:s}", "kind", titles[i].kind, "number",
                                        titles[i].number, "status", "valid", "expires_on", expiry));
    }
    return list;
}

void records_json(json_t *obj, const struct person *p)
{
    const struct life *l = &p->life;

    if (p->records & (1u << IDENTITY)) {
        json_t *address = address_json(&l->home);
        json_object_set_new(address, "valid_from", json_string(l->home_from));
        json_object_set_new(obj, "address", address);
        json_object_set_new(obj, "fiscal_household", household_json(p));
        json_object_set_new(obj, "documents", documents_json(p));
        if (l->usage_name[0])
            json_object_set_new(obj, "usage_name", json_string(l->usage_name));
    }
    if (p->records & (1u << ABROAD))
        json_object_set_new(obj, "registration", registration_json(p));
    if (p->records & (1u << STUDENT))
        json_object_set_new(obj, "student_file", student_json(p));
    if (l->has_child_file)
        json_object_set_new(obj, "child_student_file", child_json(p));
    if (p->records & (1u << HOUSING))
        json_object_set_new(obj, "mpr_file", mpr_json(p));
    if (l->has_claim)
        json_object_set_new(obj, "survivor_claim", claim_json(p));
}
