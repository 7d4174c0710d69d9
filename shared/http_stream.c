/* Streamed answers (server-sent events) on libmicrohttpd without a thread
 * each: when a stream has nothing to send, its connection is suspended
 * (MHD_suspend_connection, from the content reader as the library allows)
 * and resumed by mdv_http_stream_wake from any thread. A suspended
 * connection neither times out nor notices a client gone, so a stream's
 * owner wakes it now and then (a heartbeat). libmicrohttpd must not stop
 * with connections suspended: mdv_http_streams_end resumes them all and
 * waits until they are over. */
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>

#include "mdv/http.h"
#include "mdv/http_stream.h"
#include "mdv/log.h"

#define END_WAIT_MS 2000

struct mdv_http_stream {
    struct mdv_http_stream *prev, *next;
    struct MHD_Connection *connection;
    int suspended; /* under lock */
    int woken;     /* under lock: woken while its read ran */
    mdv_http_stream_read_fn read;
    mdv_http_stream_done_fn done;
    void *cls;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mdv_http_stream *streams;
static int ending;

static ssize_t on_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct mdv_http_stream *s = cls;
    (void)pos;
    pthread_mutex_lock(&lock);
    int over = ending;
    s->woken = 0;
    pthread_mutex_unlock(&lock);
    if (over)
        return MHD_CONTENT_READER_END_OF_STREAM;
    long n = s->read(s->cls, buf, max);
    if (n != 0)
        return n > 0 ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
    pthread_mutex_lock(&lock);
    /* Woken while it read: asked again at once rather than suspended, or
     * the wake-up would be lost. */
    if (!s->woken && !ending) {
        s->suspended = 1;
        MHD_suspend_connection(s->connection);
    }
    pthread_mutex_unlock(&lock);
    return 0;
}

static void on_free(void *cls)
{
    struct mdv_http_stream *s = cls;
    pthread_mutex_lock(&lock);
    if (s->prev)
        s->prev->next = s->next;
    else
        streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    pthread_mutex_unlock(&lock);
    s->done(s->cls);
    free(s);
}

struct mdv_http_stream *mdv_http_stream_start(struct mdv_http_response *res,
                                              const struct mdv_http_request *req, int status,
                                              const char *content_type,
                                              mdv_http_stream_read_fn read,
                                              mdv_http_stream_done_fn done, void *cls)
{
    struct mdv_http_stream *s = mdv_xcalloc(1, sizeof(*s));
    s->connection = req->connection;
    s->read = read;
    s->done = done;
    s->cls = cls;
    pthread_mutex_lock(&lock);
    s->next = streams;
    if (streams)
        streams->prev = s;
    streams = s;
    pthread_mutex_unlock(&lock);
    res->status = status;
    res->content_type = content_type;
    res->stream = s;
    return s;
}

void mdv_http_stream_wake(struct mdv_http_stream *s)
{
    pthread_mutex_lock(&lock);
    if (s->suspended) {
        s->suspended = 0;
        MHD_resume_connection(s->connection);
    } else {
        s->woken = 1;
    }
    pthread_mutex_unlock(&lock);
}

/* Gives libmicrohttpd the stream's body; called by http.c only. */
struct MHD_Response *mdv_http_stream_response(struct mdv_http_stream *s)
{
    return MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, on_read, s, on_free);
}

/* Ends every stream before the daemon stops; called by http.c only. */
void mdv_http_streams_end(void)
{
    pthread_mutex_lock(&lock);
    ending = 1;
    for (struct mdv_http_stream *s = streams; s; s = s->next)
        if (s->suspended) {
            s->suspended = 0;
            MHD_resume_connection(s->connection);
        }
    pthread_mutex_unlock(&lock);
    for (int waited = 0; waited < END_WAIT_MS; waited += 10) {
        pthread_mutex_lock(&lock);
        int left = streams != NULL;
        pthread_mutex_unlock(&lock);
        if (!left)
            return;
        mdv_sleep_ms(10);
    }
    mdv_warn("HTTP streams still open %d ms after the server began stopping", END_WAIT_MS);
}
