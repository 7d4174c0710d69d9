/* What the CROUS needs to re-assess a file on a new family home: the
 * centres of the communes the distance is measured between
 * (rules/communes.json), and the distance points and échelon of the
 * latest academic year of the barème (grant.c, rules/bourse.json: the one
 * copy of its tables). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mdv/util.h"
#include "grant.h"
#include "student.h"

#define CENTRES_MAX 256
#define EARTH_RADIUS_KM 6371.0

static struct {
    json_t *root; /* owns the strings below */
    struct {
        const char *code;
        double lat, lon;
    } centres[CENTRES_MAX];
    size_t n_centres;
} bareme;

static int load_centres(const json_t *centres)
{
    size_t i;
    json_t *c;
    if (!json_is_array(centres) || json_array_size(centres) > CENTRES_MAX)
        return -1;
    json_array_foreach(centres, i, c)
    {
        const char *code = NULL;
        double lat = 0, lon = 0;
        if (json_unpack(c, "{s:s, s:F, s:F}", "code", &code, "lat", &lat, "lon", &lon) != 0 ||
            fabs(lat) > 90 || fabs(lon) > 180)
            return -1;
        bareme.centres[i].code = code;
        bareme.centres[i].lat = lat;
        bareme.centres[i].lon = lon;
    }
    bareme.n_centres = i;
    return 0;
}

int student_bareme_load(const char *path)
{
    json_error_t error;
    json_t *centres = NULL;
    bareme.root = json_load_file(path, 0, &error);
    if (!bareme.root) {
        fprintf(stderr, "%s:%d: %s\n", path, error.line, error.text);
        return -1;
    }
    if (json_unpack(bareme.root, "{s:{s:o}}", "communes", "centres", &centres) != 0 ||
        load_centres(centres) != 0) {
        fprintf(stderr, "%s: communes missing or invalid\n", path);
        student_bareme_free();
        return -1;
    }
    return 0;
}

void student_bareme_free(void)
{
    json_decref(bareme.root);
    memset(&bareme, 0, sizeof(bareme));
}

static int centre(const char *code, double *lat, double *lon)
{
    for (size_t i = 0; i < bareme.n_centres; i++)
        if (strcmp(bareme.centres[i].code, code) == 0) {
            *lat = bareme.centres[i].lat;
            *lon = bareme.centres[i].lon;
            return 0;
        }
    return -1;
}

int student_distance_km(const char *commune_a, const char *commune_b)
{
    double lat1, lon1, lat2, lon2, rad = M_PI / 180.0;
    if (!commune_a || !commune_b || centre(commune_a, &lat1, &lon1) != 0 ||
        centre(commune_b, &lat2, &lon2) != 0)
        return -1;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double h = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return (int)lround(2 * EARTH_RADIUS_KM * asin(sqrt(h)));
}

int student_distance_points(int km)
{
    return mdv_grant_distance_points(mdv_grant_latest_year(), km < 0 ? 0 : (unsigned)km);
}

const char *student_echelon(long resources, long points)
{
    int echelon = mdv_grant_echelon(mdv_grant_latest_year(), resources < 0 ? 0 : resources,
                                    points < 0 ? 0 : (unsigned)points);
    return echelon >= 0 ? mdv_grant_echelon_name(echelon) : NULL;
}
