/* When a failed delivery is tried again: exponential backoff with "equal
 * jitter" (half the delay fixed, half random), so that many deliveries
 * failing at once do not come back at once, while each delay stays at
 * least the longest the previous one could be; both halves are capped,
 * so the jitter narrows near the cap and the delays never pass it. A Retry-After the endpoint
 * sent pushes the next attempt later, never earlier. */
#include <curl/curl.h>
#include <ctype.h>
#include <stdlib.h>

#include "partners.h"

struct partners_schedule partners_schedule;

long partners_backoff_ms(const struct partners_schedule *s, long n, double u)
{
    long delay = s->base_ms; /* base * 2^(n-1), doubled no further than 2 * max */
    for (long i = 1; i < n && delay / 2 < s->max_ms; i++)
        delay *= 2;
    long low = delay / 2 < s->max_ms ? delay / 2 : s->max_ms;
    long high = delay < s->max_ms ? delay : s->max_ms;
    if (u < 0)
        u = 0;
    if (u >= 1)
        u = 0.999999;
    return low + (long)(u * (double)(high - low));
}

long partners_retry_after_ms(const struct partners_schedule *s, const char *value, time_t now)
{
    long long ms;
    while (*value == ' ')
        value++;
    if (isdigit((unsigned char)*value)) {
        char *end = NULL;
        long long seconds = strtoll(value, &end, 10);
        while (*end == ' ')
            end++;
        if (*end)
            return -1;
        ms = seconds > s->max_ms / 1000 ? s->max_ms : seconds * 1000;
    } else {
        /* An HTTP-date: curl's parser, which knows the three forms. */
        time_t at = curl_getdate(value, NULL);
        if (at == -1)
            return -1;
        ms = at <= now ? 0 : (long long)(at - now) * 1000;
    }
    return ms > s->max_ms ? s->max_ms : (long)ms;
}
