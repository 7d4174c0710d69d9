/* The barème of the bourse sur critères sociaux as the CROUS applies it to
 * a new family home: distance bands → points de charge, resource ceilings
 * by points and échelon, and the centres of the communes the distance is
 * measured between (rules/distance_points.json, each part with its
 * source; RULES-REFERENCE.md). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mdv/util.h"
#include "student.h"

#define ECHELONS 8
#define POINTS_ROWS 18
#define BANDS_MAX 8
#define CENTRES_MAX 256
#define EARTH_RADIUS_KM 6371.0

static struct {
    json_t *root; /* owns the strings below */
    struct {
        int from_km, points;
    } bands[BANDS_MAX];
    size_t n_bands;
    const char *echelons[ECHELONS];
    long ceilings[POINTS_ROWS][ECHELONS];
    struct {
        const char *code;
        double lat, lon;
    } centres[CENTRES_MAX];
    size_t n_centres;
} bareme;

static int load_bands(const json_t *bands)
{
    size_t i;
    json_t *band;
    if (!json_is_array(bands) || json_array_size(bands) == 0 || json_array_size(bands) > BANDS_MAX)
        return -1;
    json_array_foreach(bands, i, band)
    {
        json_int_t from = 0, points = 0;
        if (json_unpack(band, "{s:I, s:I}", "from_km", &from, "points", &points) != 0 || from < 0 ||
            points < 0 || points > 4 || (i > 0 && from >= bareme.bands[i - 1].from_km))
            return -1; /* bands listed from the farthest */
        bareme.bands[i].from_km = (int)from;
        bareme.bands[i].points = (int)points;
    }
    bareme.n_bands = i;
    return bareme.bands[i - 1].from_km == 0 ? 0 : -1;
}

static int load_ceilings(const json_t *echelons, const json_t *rows)
{
    if (json_array_size(echelons) != ECHELONS || json_array_size(rows) != POINTS_ROWS)
        return -1;
    for (size_t e = 0; e < ECHELONS; e++) {
        bareme.echelons[e] = json_string_value(json_array_get(echelons, e));
        if (!bareme.echelons[e])
            return -1;
    }
    for (size_t p = 0; p < POINTS_ROWS; p++) {
        const json_t *row = json_array_get(rows, p);
        if (json_array_size(row) != ECHELONS)
            return -1;
        for (size_t e = 0; e < ECHELONS; e++) {
            const json_t *v = json_array_get(row, e);
            bareme.ceilings[p][e] = json_is_integer(v) ? (long)json_integer_value(v) : -1;
            /* Higher échelons have lower ceilings. */
            if (bareme.ceilings[p][e] < 0 ||
                (e > 0 && bareme.ceilings[p][e] >= bareme.ceilings[p][e - 1]))
                return -1;
        }
    }
    return 0;
}

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
    json_t *bands = NULL, *echelons = NULL, *rows = NULL, *centres = NULL;
    bareme.root = json_load_file(path, 0, &error);
    if (!bareme.root) {
        fprintf(stderr, "%s:%d: %s\n", path, error.line, error.text);
        return -1;
    }
    if (json_unpack(bareme.root, "{s:{s:o}, s:{s:o, s:o}, s:{s:o}}", "distance_bands", "bands",
                    &bands, "ceilings", "echelons", &echelons, "by_points", &rows, "communes",
                    "centres", &centres) != 0 ||
        load_bands(bands) != 0 || load_ceilings(echelons, rows) != 0 ||
        load_centres(centres) != 0) {
        fprintf(stderr, "%s: distance_bands, ceilings or communes missing or invalid\n", path);
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
    for (size_t i = 0; i < bareme.n_bands; i++)
        if (km >= bareme.bands[i].from_km)
            return bareme.bands[i].points;
    return 0;
}

const char *student_echelon(long resources, long points)
{
    if (points < 0)
        points = 0;
    if (points >= POINTS_ROWS)
        points = POINTS_ROWS - 1;
    const char *echelon = NULL;
    for (size_t e = 0; e < ECHELONS; e++)
        if (resources <= bareme.ceilings[points][e])
            echelon = bareme.echelons[e]; /* the highest échelon whose ceiling holds */
    return echelon;
}
