/* The server's side of streamed answers (used by http.c only; the
 * handlers' side is in mdv/http.h). */
#ifndef MDV_HTTP_STREAM_H
#define MDV_HTTP_STREAM_H

struct MHD_Response;
struct mdv_http_stream;

/* libmicrohttpd's response reading the stream; freeing it ends the stream. */
struct MHD_Response *mdv_http_stream_response(struct mdv_http_stream *stream);
/* Resumes and ends every stream, and waits (a bound) until they are over:
 * libmicrohttpd must not stop with a connection suspended. */
void mdv_http_streams_end(void);

#endif
