#include <stdio.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <histedit.h>

/* Swift cannot call C variadic functions: el_set, el_get and history are
   variadic, so each use the shell needs has a fixed-signature wrapper here. */

typedef char *(*cnx_prompt_fn)(EditLine *);
typedef unsigned char (*cnx_command_fn)(EditLine *, int);
typedef int (*cnx_getc_fn)(EditLine *, wchar_t *);

static inline int cnx_el_set_editor(EditLine *e, const char *mode) { return el_set(e, EL_EDITOR, mode); }
static inline int cnx_el_set_signal(EditLine *e, int on) { return el_set(e, EL_SIGNAL, on); }
/* The prompt, with `ignore` marking the start and end of terminal escapes. */
static inline int cnx_el_set_prompt_esc(EditLine *e, cnx_prompt_fn fn, char ignore) { return el_set(e, EL_PROMPT_ESC, fn, ignore); }
static inline int cnx_el_set_getcfn(EditLine *e, cnx_getc_fn fn) { return el_set(e, EL_GETCFN, fn); }
static inline int cnx_el_set_clientdata(EditLine *e, void *data) { return el_set(e, EL_CLIENTDATA, data); }
static inline void *cnx_el_get_clientdata(EditLine *e) {
    void *data = NULL;
    el_get(e, EL_CLIENTDATA, &data);
    return data;
}
static inline int cnx_el_addfn(EditLine *e, const char *name, const char *help, cnx_command_fn fn) { return el_set(e, EL_ADDFN, name, help, fn); }
static inline int cnx_el_bind(EditLine *e, const char *key, const char *name) { return el_set(e, EL_BIND, key, name, NULL); }
static inline int cnx_el_set_history(EditLine *e, History *h) { return el_set(e, EL_HIST, history, h); }
static inline int cnx_el_refresh(EditLine *e) { return el_set(e, EL_REFRESH); }

static inline int cnx_history_setsize(History *h, HistEvent *ev, int size) { return history(h, ev, H_SETSIZE, size); }
static inline int cnx_history_setunique(History *h, HistEvent *ev, int on) { return history(h, ev, H_SETUNIQUE, on); }
static inline int cnx_history_enter(History *h, HistEvent *ev, const char *line) { return history(h, ev, H_ENTER, line); }
static inline int cnx_history_load(History *h, HistEvent *ev, const char *path) { return history(h, ev, H_LOAD, path); }
static inline int cnx_history_save_fp(History *h, HistEvent *ev, FILE *fp) { return history(h, ev, H_SAVE_FP, fp); }
static inline int cnx_history_clear(History *h, HistEvent *ev) { return history(h, ev, H_CLEAR); }
/* Oldest-first walk: H_LAST is the oldest entry, H_PREV moves to newer ones. */
static inline int cnx_history_last(History *h, HistEvent *ev) { return history(h, ev, H_LAST); }
static inline int cnx_history_prev(History *h, HistEvent *ev) { return history(h, ev, H_PREV); }

/* el_init on the standard streams (Swift 6 cannot touch the stdin/stdout
   globals: they are shared mutable state). */
static inline EditLine *cnx_el_init_std(const char *prog) { return el_init(prog, stdin, stdout, stderr); }

/* The self-pipe trick for Ctrl-C and resizes: an async-signal-safe handler
   writes one byte ('i' for SIGINT, 'w' for SIGWINCH) to the shell's wake-up
   pipe. A real handler rather than a Dispatch signal source, whose handler
   runs on Dispatch's thread pool and so could queue behind a training job's
   concurrentPerform workers.
   SA_RESTART keeps libedit's reads and writes from failing with EINTR. */
static int cnx_wake_fd = -1;
static void cnx_wake_on_signal(int signo) {
    int saved = errno;
    unsigned char byte = signo == SIGINT ? 'i' : 'w';
    ssize_t ignored = write(cnx_wake_fd, &byte, 1);
    (void)ignored;
    errno = saved;
}
static inline int cnx_route_signal_to_pipe(int signo, int fd) {
    struct sigaction action;
    cnx_wake_fd = fd;
    memset(&action, 0, sizeof action);
    action.sa_handler = cnx_wake_on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    return sigaction(signo, &action, NULL);
}
