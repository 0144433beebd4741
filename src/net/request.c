/* STUB: pf__http_request is being written (see http.h for the contract). */
#include <string.h>

#include "http.h"

void pf__http_request_init(struct pf__http_request *req)
{
    memset(req, 0, sizeof *req);
    req->body_fd = req->sink_fd = -1;
    req->retries = -1;
}

pf_err pf__http_request(struct pf__http *h, const struct pf__http_request *req,
                        struct pf__http_reply *reply)
{
    (void)h; (void)req; (void)reply;
    return PF_EINTERNAL;
}

void pf__http_reply_free(struct pf__http_reply *reply)
{
    (void)reply;
}
