#include <mpi.h>

/* Open MPI spells its handles as macros over addresses of globals
   (MPI_COMM_WORLD is ((MPI_Comm)&ompi_mpi_comm_world)), which Swift does not
   import: each handle cnx uses is returned by a function here. */

static inline MPI_Comm cnx_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype cnx_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype cnx_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype cnx_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype cnx_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op cnx_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op cnx_mpi_min(void) { return MPI_MIN; }
static inline MPI_Errhandler cnx_mpi_errors_are_fatal(void) { return MPI_ERRORS_ARE_FATAL; }
static inline void *cnx_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Request cnx_mpi_request_null(void) { return MPI_REQUEST_NULL; }

/* A rank that mpirun terminates (SIGTERM: another process of the job died,
   or the job was stopped) says so in one line before it goes; only
   async-signal-safe calls here. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

static void cnx_mpi_on_terminate(int signo) {
    static const char line[] =
        "cnx: this process was stopped by mpirun (SIGTERM): another process of the job ended or the job was stopped; mpirun's message names it\n";
    ssize_t ignored = write(2, line, sizeof line - 1);
    (void)ignored;
    _exit(128 + signo);
}

static inline int cnx_mpi_announce_termination(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = cnx_mpi_on_terminate;
    sigemptyset(&action.sa_mask);
    return sigaction(SIGTERM, &action, 0);
}
