/* Ctrl-C for every subcommand: the first press asks the library to stop
 * cleanly (pf_ctx_interrupt: temp files removed, a queued job cancelled),
 * a later one ends the process at once for a user who will not wait. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static pf_ctx *volatile interrupt_ctx;
static volatile sig_atomic_t presses, presses_to_end, terminated;

static void on_interrupt(int sig)
{
    (void)sig;
    if (++presses >= presses_to_end)
        _exit(130);
    pf_ctx_interrupt(interrupt_ctx);
}

void pf_cli_catch_interrupt(pf_ctx *ctx, int presses_to_exit)
{
    struct sigaction sa;

    interrupt_ctx = ctx;
    presses = 0;
    presses_to_end = presses_to_exit > 1 ? presses_to_exit : 2;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a process blocked on another's lock must wake up.
     * SIGTERM is left alone: a shutdown is not a request to cancel a paid
     * job, and the ledger survives an abrupt end. */
    sigaction(SIGINT, &sa, NULL);
}

/* SIGTERM (kill, systemd, a container's stop) stops a fix as Ctrl-C does:
 * the partial output is removed; a second one ends at once. 143, not
 * 130, is what the caller then reports, as a shell would. */
static void on_terminate(int sig)
{
    (void)sig;
    if (terminated++)
        _exit(143);
    pf_ctx_interrupt(interrupt_ctx);
}

void pf_cli_catch_terminate(void)
{
    struct sigaction sa;

    terminated = 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_terminate;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
}

int pf_cli_terminated(void)
{
    return terminated != 0;
}

void pf_cli_release_interrupt(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    interrupt_ctx = NULL;
}
